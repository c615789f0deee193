/*
 * test_flowid.c: unit.flowid — the Community ID against the published
 * vectors of its specification (community-id-spec: the tables of
 * baseline/README.md and the TCP rows of baseline/baseline_deflt.json and
 * baseline_seed1.json), both directions, IPv4 and IPv6; and the stable
 * flow_id: the same inputs give the same id, any changed input another.
 */
#include <arpa/inet.h>
#include <string.h>

#include "flowid.h"
#include "tap.h"

struct vector {
	const char *saddr, *daddr;
	uint16_t sport, dport, seed;
	const char *want;
};

static const struct vector vectors[] = {
    {.saddr = "1.2.3.4",
     .daddr = "5.6.7.8",
     .sport = 1122,
     .dport = 3344,
     .seed = 0,
     .want = "1:wCb3OG7yAFWelaUydu0D+125CLM="},
    {.saddr = "1.2.3.4",
     .daddr = "5.6.7.8",
     .sport = 1122,
     .dport = 3344,
     .seed = 1,
     .want = "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="},
    {.saddr = "128.232.110.120",
     .daddr = "66.35.250.204",
     .sport = 34855,
     .dport = 80,
     .seed = 0,
     .want = "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
    {.saddr = "128.232.110.120",
     .daddr = "66.35.250.204",
     .sport = 34855,
     .dport = 80,
     .seed = 1,
     .want = "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
    {.saddr = "2001:470:e5bf:dead:4957:2174:e82c:4887",
     .daddr = "2607:f8b0:400c:c03::1a",
     .sport = 63943,
     .dport = 25,
     .seed = 0,
     .want = "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
    {.saddr = "2001:470:e5bf:dead:4957:2174:e82c:4887",
     .daddr = "2607:f8b0:400c:c03::1a",
     .sport = 63943,
     .dport = 25,
     .seed = 1,
     .want = "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
};

static void pair(struct addr_pair *k, const char *s, const char *d, uint16_t sp, uint16_t dp)
{
	memset(k, 0, sizeof(*k));
	k->family = strchr(s, ':') != NULL ? 6 : 4;
	inet_pton(k->family == 6 ? AF_INET6 : AF_INET, s, k->src);
	inet_pton(k->family == 6 ? AF_INET6 : AF_INET, d, k->dst);
	k->sport = sp;
	k->dport = dp;
}

static void test_community_id(void)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		struct addr_pair out, back;
		char a[COMMUNITY_ID_SIZE], b[COMMUNITY_ID_SIZE];

		pair(&out, v->saddr, v->daddr, v->sport, v->dport);
		pair(&back, v->daddr, v->saddr, v->dport, v->sport);
		CHECK_EQ_INT(community_id_v1(&out, 6, v->seed, a), 0);
		CHECK_EQ_INT(community_id_v1(&back, 6, v->seed, b), 0);
		CHECK_EQ_STR(a, v->want);
		CHECK_EQ_STR(b, v->want);
	}
}

static void test_flow_id(void)
{
	struct addr_pair k, back, other;
	uint64_t id;

	pair(&k, "198.18.0.1", "198.18.0.2", 40000, 22);
	pair(&back, "198.18.0.2", "198.18.0.1", 22, 40000);
	pair(&other, "198.18.0.1", "198.18.0.2", 40001, 22);
	id = flow_id_stable("gw1", 1700000000123456u, &k, 6);
	CHECK(id != 0 && id < (UINT64_C(1) << FLOW_ID_BITS), "in range: %llu",
	      (unsigned long long)id);
	CHECK(flow_id_stable("gw1", 1700000000123456u, &k, 6) == id, "stable");
	CHECK(flow_id_stable("gw1", 1700000000123456u, &back, 6) == id, "either direction");
	CHECK(flow_id_stable("gw2", 1700000000123456u, &k, 6) != id, "another sensor");
	CHECK(flow_id_stable("gw1", 1700000000123457u, &k, 6) != id, "another time");
	CHECK(flow_id_stable("gw1", 1700000000123456u, &other, 6) != id, "another port");
	CHECK(flow_id_stable(NULL, 1, &k, 6) != 0, "no sensor name");
}

int main(void)
{
	test_community_id();
	test_flow_id();
	return tap_done();
}
