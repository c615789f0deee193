/*
 * flow.c: the flow table (see flow.h).
 *
 * Responsible for finding the flow of each packet in O(1) (a chained hash
 * table over the keyed hash of hash.h, made symmetric), for the
 * least-recently-active order used to evict beyond max_flows, and for the
 * timeouts, which run on capture time through a timer wheel of one-second
 * slots, so a replayed capture gives the same records every time. Each flow
 * is reported at most once and freed on the table's own thread: by
 * flow_destroy, or (a copy handed over for its record) by flow_release on
 * that thread or, released on another, when the table takes it back from
 * its returned list; up to FLOW_SPARE_MAX are kept for the next flows to
 * reuse (spare_put). An
 * evicted connection is remembered in a small set of recently evicted
 * address pairs, so that its later packets are counted and dropped instead
 * of opening a new flow (and a new record) each time the table is full. The
 * table also owns the digest state (kex.h) its flows' parsers use: a table
 * belongs to one packet loop, so loops on other threads never share it;
 * so does the pool of memory chunks its flows' parsers carve (flowmem.h).
 * Not responsible for TCP details (tcp.c) or SSH (ssh.c).
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "flow.h"
#include "hash.h"
#include "tcp.h"

#define TW_SLOTS 4096u /* one-second slots: a wheel turn is 68 minutes */
/* Freed flows kept for reuse: a flow is 2.6 KiB, too big for malloc's fast
 * per-thread cache, and one is created for every connection. Flows linger
 * after FIN/RST (close_linger_ms), so hundreds are open and freed at once
 * on a busy link. 1024 = 2.6 MiB at most, once that many were open. */
#define FLOW_SPARE_MAX 1024u
/* Recently evicted address pairs: 8-way sets, each pair with two sets to
 * choose from, four entries per hash bucket, so a table that evicts all its
 * flows at once still remembers them all; at most EVICT_MAX entries of 16
 * bytes: 4 MiB for the default 65536 flows. */
#define EVICT_WAYS 8u
#define EVICT_MAX (1u << 22)
#define US_PER_MS 1000u
#define US_PER_S 1000000u

struct flow_table {
	struct flow_config cfg;
	const struct kw_limits *limits;
	struct hash_key key; /* the process's hash key, cfg.seed mixed in */
	struct flow **bucket;
	uint32_t mask;
	struct list_head lru; /* first: most recently active */
	struct list_head tw[TW_SLOTS];
	uint64_t tw_sec; /* last wheel second processed */
	uint8_t clock_started;
	uint64_t now_us;
	uint64_t exact_us; /* every deadline up to it has run (flow_table_advance_exact) */
	uint64_t next_id;
	uint32_t id_step;
	struct flow_stats stats;
	struct flow *last;  /* flow of the last TCP packet, NULL once destroyed */
	struct flow *spare; /* freed flows for reuse, linked by hnext */
	uint32_t nspare;
	struct kex_ctx *kex;        /* this table's digest state, lent to each flow's parser */
	struct evict_slot *evicted; /* recently evicted pairs, EVICT_WAYS per set */
	uint32_t evict_sets;        /* a power of two */
	struct flowmem_pool pool;   /* spare chunks of the flows' memory (flowmem.h) */
	/* This loop's credit from the global budget (budget.h): the packet
	 * loop charges it without atomics. budget: &local, or NULL (none). */
	struct kw_budget local;
	struct kw_budget *budget;
	/* Copies released on another thread, back for this one to free or
	 * reuse (flow_release, flow_take_returned), linked by hnext. On its own
	 * line: the releasing thread writes it. */
	_Alignas(64) _Atomic(struct flow *) returned;
};

/* A recently evicted connection: its 64-bit pair hash (0: empty) and last packet. */
struct evict_slot {
	uint64_t tag;
	uint64_t t_last_us;
};

enum flow_src_evidence flow_src_from(const struct flow *f, int *dir)
{
	enum flow_src_evidence e = FLOW_SRC_FIRST_PACKET;
	int d = 0;

	if (f->initiator_known) {
		e = FLOW_SRC_SYN;
	} else if (f->ssh.client_dir >= 0 && (f->ssh.role_source == SSH_ROLE_KEX_MESSAGES ||
	                                      f->ssh.role_source == SSH_ROLE_KEXINIT)) {
		/* Without SYN or SYN-ACK, the SSH client is taken as the initiator. */
		e = FLOW_SRC_SSH_MESSAGES;
		d = f->ssh.client_dir;
	} else if (f->ssh.dir[0].pre_lines != f->ssh.dir[1].pre_lines &&
	           (f->ssh.dir[0].pre_lines == 0 || f->ssh.dir[1].pre_lines == 0) &&
	           f->ssh.dir[f->ssh.dir[0].pre_lines == 0].banner != NULL) {
		/* RFC 4253 4.2: only the server sends lines before its banner. A
		 * banner's time says nothing: OpenSSH's client sends its own at
		 * connect, often before the server's. */
		e = FLOW_SRC_SERVER_BANNER;
		d = f->ssh.dir[0].pre_lines == 0 ? 0 : 1;
	} else if (f->port_client_dir >= 0) {
		e = FLOW_SRC_PORTS;
		d = f->port_client_dir;
	}
	if (dir != NULL)
		*dir = d;
	return e;
}

int flow_src_dir(const struct flow *f)
{
	int d;

	flow_src_from(f, &d);
	return d;
}

/*
 * pair_hash: the keyed hash (hash.h) of the address pair with its two
 * endpoints in a fixed order, so both directions of a connection land in
 * the same bucket. Any total order does; comparing address words and then
 * ports costs less than memcmp. IPv4 addresses are the first 4 of their 16
 * bytes: 16 bytes are hashed instead of 40, one multiply fewer in the chain
 * of a lookup most packets make. (Keys that differ elsewhere only collide;
 * pair_match compares every byte.)
 */
static uint64_t pair_hash(const struct addr_pair *k, const struct hash_key *key)
{
	uint64_t a[2], b[2], w[5];
	uint16_t pa = k->sport, pb = k->dport;
	int swap;

	memcpy(a, k->src, 16);
	memcpy(b, k->dst, 16);
	swap = a[0] != b[0] ? a[0] > b[0] : a[1] != b[1] ? a[1] > b[1] : pa > pb;
	if (swap) {
		uint16_t pt = pa;
		uint64_t t0 = a[0], t1 = a[1];
		a[0] = b[0], a[1] = b[1], b[0] = t0, b[1] = t1;
		pa = pb, pb = pt;
	}
	if (k->family == 4) {
		w[0] = (a[0] & 0xffffffffu) | b[0] << 32;
		w[1] = (uint64_t)pa | (uint64_t)pb << 16 | (uint64_t)4 << 32;
		return hash_bytes(key, w, 16);
	}
	w[0] = a[0];
	w[1] = a[1];
	w[2] = b[0];
	w[3] = b[1];
	w[4] = (uint64_t)pa | (uint64_t)pb << 16 | (uint64_t)k->family << 32;
	return hash_bytes(key, w, sizeof(w));
}

/* pair_match returns 0 (same orientation), 1 (reversed) or -1 (other pair). */
static int pair_match(const struct addr_pair *fk, const struct addr_pair *k)
{
	if (fk->family != k->family)
		return -1;
	if (fk->sport == k->sport && fk->dport == k->dport && memcmp(fk->src, k->src, 16) == 0 &&
	    memcmp(fk->dst, k->dst, 16) == 0)
		return 0;
	if (fk->sport == k->dport && fk->dport == k->sport && memcmp(fk->src, k->dst, 16) == 0 &&
	    memcmp(fk->dst, k->src, 16) == 0)
		return 1;
	return -1;
}

struct flow_table *flow_table_new(const struct flow_config *cfg)
{
	/* aligned_alloc, not calloc: `returned` is on a line of its own
	 * (_Alignas(64)), which malloc's 16-byte alignment does not give. */
	struct flow_table *t = aligned_alloc(_Alignof(struct flow_table), sizeof(*t));
	uint32_t n = 1024, sets;

	if (t == NULL)
		return NULL;
	memset(t, 0, sizeof(*t));
	t->cfg = *cfg;
	t->limits = cfg->limits;
	if (cfg->budget != NULL) {
		budget_init_local(&t->local, cfg->budget);
		t->budget = &t->local;
	}
	while (n < cfg->limits->max_flows && n < (1u << 30))
		n <<= 1;
	if ((t->bucket = calloc(n, sizeof(*t->bucket))) == NULL ||
	    (t->kex = kex_ctx_new()) == NULL) {
		free(t->bucket);
		free(t);
		return NULL;
	}
	t->mask = n - 1;
	sets = n * 4 / EVICT_WAYS;
	if (sets * EVICT_WAYS > EVICT_MAX)
		sets = EVICT_MAX / EVICT_WAYS;
	if ((t->evicted = calloc((size_t)sets * EVICT_WAYS, sizeof(*t->evicted))) == NULL) {
		kex_ctx_free(t->kex);
		free(t->bucket);
		free(t);
		return NULL;
	}
	t->evict_sets = sets;
	t->next_id = cfg->first_id != 0 ? cfg->first_id : 1;
	t->id_step = cfg->id_step != 0 ? cfg->id_step : 1;
	hash_key_get(&t->key);
	t->key.k[0] ^= cfg->seed;
	hash_key_normalize(&t->key);
	list_init(&t->lru);
	for (uint32_t i = 0; i < TW_SLOTS; i++)
		list_init(&t->tw[i]);
	return t;
}

/* lru_oldest: the least recently active flow, NULL when the table is empty. */
static struct flow *lru_oldest(const struct flow_table *t)
{
	return list_entry_or_null(list_last(&t->lru), struct flow, lru);
}

/* tw_link puts f first in the slot of its deadline (at least the next second). */
static void tw_link(struct flow_table *t, struct flow *f)
{
	uint64_t sec = f->deadline_us / US_PER_S;

	if (sec <= t->tw_sec)
		sec = t->tw_sec + 1;
	list_add_head(&t->tw[sec % TW_SLOTS], &f->tw);
}

static int flow_established(const struct flow *f)
{
	return f->ssh.dir[0].t_newkeys != 0 && f->ssh.dir[1].t_newkeys != 0;
}

static uint64_t flow_deadline(const struct flow_table *t, const struct flow *f)
{
	const struct kw_limits *l = t->limits;
	uint64_t idle = f->t_last + (uint64_t)l->idle_timeout_ms * US_PER_MS;
	uint64_t due;

	switch (f->state) {
	case FLOW_CLOSING:
		return f->t_last + (uint64_t)l->close_linger_ms * US_PER_MS;
	case FLOW_REPORTED:
		return idle;
	case FLOW_ACTIVE:
		break;
	}
	if (f->dir[1].packets == 0 && f->dir[0].syn)
		return f->t_last + (uint64_t)l->syn_timeout_ms * US_PER_MS;
	if (flow_established(f)) {
		uint64_t nk = f->ssh.dir[0].t_newkeys > f->ssh.dir[1].t_newkeys
		                  ? f->ssh.dir[0].t_newkeys
		                  : f->ssh.dir[1].t_newkeys;
		due = nk + (uint64_t)l->established_report_ms * US_PER_MS;
		return due < idle ? due : idle;
	}
	/* Not SSH (an initiator that is not, even while the responder's lines
	 * are still read for a late banner): the idle timeout, as ever. */
	if (!f->feeding || f->ssh.dir[0].state == SSH_ST_NOT_SSH)
		return idle;
	return f->t_last + (uint64_t)l->handshake_timeout_ms * US_PER_MS;
}

/*
 * flow_reschedule moves f to its deadline, never before floor: the clock
 * when a packet moves it, so no flow is due in the past (a packet stamped
 * earlier than the clock would make it so) and flow_table_horizon holds.
 */
static void flow_reschedule(struct flow_table *t, struct flow *f, uint64_t floor)
{
	uint64_t d = flow_deadline(t, f);

	if (d < floor)
		d = floor;

	if (d == f->deadline_us)
		return;
	list_del(&f->tw);
	f->deadline_us = d;
	tw_link(t, f);
}

static int flow_reportable(const struct flow *f)
{
	return ssh_conn_is_ssh(&f->ssh) || f->candidate;
}

/* evict_tag: the 64-bit pair hash, never 0 (0 marks an empty slot). */
static uint64_t evict_tag(const struct flow_table *t, const struct addr_pair *k)
{
	uint64_t h = pair_hash(k, &t->key);

	return h != 0 ? h : 1;
}

/*
 * evict_set: the first (which 0) or second (1) set a tag may live in. Two
 * choices, the emptier taken (evict_remember), keep a set from overflowing
 * while the table is far from full. Bits above the low ones: the flow
 * buckets use those.
 */
static struct evict_slot *evict_set(const struct flow_table *t, uint64_t tag, int which)
{
	uint64_t i = which ? (tag >> 40) ^ (tag >> 12) : tag >> 32;

	return &t->evicted[(i & (t->evict_sets - 1)) * EVICT_WAYS];
}

/* evict_remember notes an evicted pair in the emptier of its two sets,
 * in place of the oldest entry when both are full. */
static void evict_remember(struct flow_table *t, const struct flow *f)
{
	uint64_t tag = evict_tag(t, &f->key);
	struct evict_slot *victim = NULL, *oldest = NULL;
	uint32_t best_free = 0;

	for (int w = 0; w < 2; w++) {
		struct evict_slot *set = evict_set(t, tag, w), *empty = NULL;
		uint32_t nfree = 0;

		for (uint32_t i = 0; i < EVICT_WAYS; i++) {
			if (set[i].tag == tag) {
				set[i].t_last_us = f->t_last;
				return;
			}
			if (set[i].tag == 0) {
				nfree++;
				empty = empty != NULL ? empty : &set[i];
			} else if (oldest == NULL || set[i].t_last_us < oldest->t_last_us) {
				oldest = &set[i];
			}
		}
		if (nfree > best_free) {
			best_free = nfree;
			victim = empty;
		}
	}
	if (victim == NULL)
		victim = oldest;
	victim->tag = tag;
	victim->t_last_us = f->t_last;
}

/*
 * evict_swallow: 1 when p belongs to a connection evicted no longer than
 * idle_timeout_ms ago (the caller counts it and goes no further), 0 when it
 * opens or belongs to another. A bare SYN starts a new connection on the
 * same addresses: it is forgotten, and the SYN gets a flow of its own.
 */
static int evict_swallow(struct flow_table *t, uint64_t hash, const struct pkt *p)
{
	uint64_t tag = hash != 0 ? hash : 1;

	for (uint32_t i = 0; i < 2 * EVICT_WAYS; i++) {
		struct evict_slot *e = &evict_set(t, tag, i >= EVICT_WAYS)[i % EVICT_WAYS];

		if (e->tag != tag)
			continue;
		if ((p->flags & (TCP_SYN | TCP_ACK)) == TCP_SYN ||
		    e->t_last_us + (uint64_t)t->limits->idle_timeout_ms * US_PER_MS < p->ts_us) {
			e->tag = 0;
			return 0;
		}
		e->t_last_us = p->ts_us;
		return 1;
	}
	return 0;
}

/* flow_free_parts frees what f owns (not f), giving its charges back to b. */
static void flow_free_parts(struct flow *f, struct kw_budget *b)
{
	tcp_dir_release(&f->dir[0], b);
	tcp_dir_release(&f->dir[1], b);
	ssh_conn_free(&f->ssh);
	budget_release(b, sizeof(*f));
}

/* spare_put keeps f for t's next flow or copy, or frees it when t has enough. */
static void spare_put(struct flow_table *t, struct flow *f)
{
	if (t->nspare < FLOW_SPARE_MAX) {
		f->hnext = t->spare;
		t->spare = f;
		t->nspare++;
		return;
	}
	free(f);
}

/* flow_destroy takes a flow out of the table and frees it (flow_release: a copy). */
static void flow_destroy(struct flow_table *t, struct flow *f)
{
	struct flow **pp = &t->bucket[f->hash & t->mask];

	while (*pp != NULL && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp == f)
		*pp = f->hnext;
	list_del(&f->lru);
	list_del(&f->tw);
	if (t->last == f)
		t->last = NULL;
	flow_free_parts(f, t->budget);
	t->stats.open--;
	spare_put(t, f);
}

/*
 * flow_take_returned frees the parts of the copies other threads gave back
 * (flow_release) on this, their table's thread: their chunks go back to the
 * pool and their charges to the local budget, with no lock and no malloc,
 * and the copies become spares. One atomic load when there are none.
 */
static void flow_take_returned(struct flow_table *t)
{
	struct flow *f, *next;

	if (atomic_load_explicit(&t->returned, memory_order_relaxed) == NULL)
		return;
	for (f = atomic_exchange_explicit(&t->returned, NULL, memory_order_acquire); f != NULL;
	     f = next) {
		next = f->hnext;
		flow_free_parts(f, t->budget);
		spare_put(t, f);
	}
}

/* spare_take: one of t's spare flows (not zeroed), the copies given back
 * taken in first (flow_take_returned), or NULL. */
static struct flow *spare_take(struct flow_table *t)
{
	struct flow *f;

	flow_take_returned(t);
	if ((f = t->spare) != NULL) {
		t->spare = f->hnext;
		t->nspare--;
	}
	return f;
}

/* flow_alloc gives a zeroed flow, a spare one when there is one. */
static struct flow *flow_alloc(struct flow_table *t)
{
	struct flow *f = spare_take(t);

	if (f == NULL)
		return calloc(1, sizeof(*f));
	memset(f, 0, sizeof(*f));
	return f;
}

/*
 * flow_handoff gives a copy of f that owns its SSH facts to the handoff
 * callback; f keeps a fresh parser state (it parses nothing more: it was
 * reported) and its TCP tracking, which owns nothing once tcp_finish ran.
 */
static void flow_handoff(struct flow_table *t, struct flow *f, enum flow_report_why why)
{
	/* Copies come back to this table (flow_release): reuse one. */
	struct flow *c;

	if ((c = spare_take(t)) == NULL)
		c = malloc(sizeof(*c));
	if (c == NULL) {
		t->stats.lost++;
		return;
	}
	*c = *f;
	c->hnext = NULL;
	list_init(&c->lru);
	list_init(&c->tw);
	c->ssh.kex = NULL; /* the table's, and the copy parses nothing */
	/* The copy owns the chunks of f's facts now. Its first bytes are its
	 * own, not f's. */
	for (int d = 0; d < 2; d++)
		if (c->ssh.dir[d].first_bytes != NULL)
			c->ssh.dir[d].first_bytes = c->ssh.dir[d].first_store;
	/* The copy's SSH buffers stay charged to this table's budget and its
	 * chunks belong to this table's pool, wherever the copy is judged:
	 * flow_release gives it back to this thread, which frees it
	 * (flow_take_returned). The copy itself is charged as a flow is. */
	budget_force(t->budget, sizeof(*c));
	ssh_conn_init(&f->ssh, t->limits);
	f->ssh.kex = t->kex;
	f->ssh.budget = t->budget;
	f->ssh.store.pool = &t->pool;
	f->ssh.store.budget = t->budget;
	t->cfg.handoff(t->cfg.report_ctx, c, why);
}

static void flow_report(struct flow_table *t, struct flow *f, enum flow_report_why why,
                        uint64_t final_us)
{
	if (f->state == FLOW_REPORTED)
		return;
	f->t_final = final_us;
	tcp_finish(f);
	if (f->close_kind == FLOW_CLOSE_NONE && why == FLOW_WHY_TIMEOUT)
		f->close_kind = FLOW_CLOSE_TIMEOUT;
	if (f->close_kind == FLOW_CLOSE_NONE && why == FLOW_WHY_CAPTURE_END)
		f->close_kind = FLOW_CLOSE_CAPTURE_END;
	if (why == FLOW_WHY_EVICTED) {
		f->anomalies |= FLOW_ANOM_EVICTED;
		if (f->close_kind == FLOW_CLOSE_NONE)
			f->close_kind = FLOW_CLOSE_EVICTED;
	}
	if (f->dir[0].packets == 0 || f->dir[1].packets == 0)
		f->anomalies |= FLOW_ANOM_ONE_SIDED;
	if ((f->ssh.dir[0].anomalies | f->ssh.dir[1].anomalies) & SSH_ANOM_MEMCAP)
		t->stats.memcap_reached++;
	if (flow_reportable(f)) {
		t->stats.reported++;
		if (t->cfg.handoff != NULL)
			flow_handoff(t, f, why);
		else
			t->cfg.report(t->cfg.report_ctx, f, why);
	} else if (!ssh_conn_is_ssh(&f->ssh) && (f->dir[0].bytes || f->dir[1].bytes)) {
		t->stats.not_ssh++;
	}
	f->state = FLOW_REPORTED;
}

/*
 * flow_bypass_check marks a flow whose later packets cannot reach a record,
 * so flow_table_packet skips TCP tracking for them: one whose record is
 * written, or one that is not SSH, is not on an SSH port and is no longer
 * parsed (its state can no longer make it reportable). For the second its
 * deadline must stay the idle one whatever it is not told: not while an
 * answer to its SYN is still awaited (syn_timeout_ms).
 */
static void flow_bypass_check(struct flow *f)
{
	if (f->state == FLOW_REPORTED ||
	    (!f->feeding && !flow_reportable(f) && !(f->dir[1].packets == 0 && f->dir[0].syn)))
		f->bypass = 1;
}

/*
 * flow_expire handles a flow whose deadline has passed; returns 1 when it
 * freed it. What happens depends on the deadline, never on how late the
 * clock got to it, so the record is the same whoever ran the timer.
 */
static int flow_expire(struct flow_table *t, struct flow *f)
{
	uint64_t due = f->deadline_us;

	if (f->bypass && flow_deadline(t, f) > due) {
		/* Bypassed packets (flow_table_packet) moved its deadline on. */
		f->deadline_us = flow_deadline(t, f);
		tw_link(t, f);
		return 0;
	}
	if (f->state == FLOW_ACTIVE && flow_established(f) && f->close_kind == FLOW_CLOSE_NONE &&
	    f->t_last + (uint64_t)t->limits->idle_timeout_ms * US_PER_MS > due) {
		/* Handshake final, session still going: report now, keep counting. */
		flow_report(t, f, FLOW_WHY_ESTABLISHED, due);
		f->feeding = 0;
		flow_reschedule(t, f, due);
		flow_bypass_check(f);
		return 0;
	}
	if (f->state == FLOW_ACTIVE) {
		t->stats.timeouts++;
		flow_report(t, f, FLOW_WHY_TIMEOUT, due);
	} else if (f->state == FLOW_CLOSING) {
		flow_report(t, f, FLOW_WHY_CLOSED, due);
	}
	flow_destroy(t, f);
	return 1;
}

/*
 * flow_expire_due expires f while the clock has reached its deadline (the
 * wheel runs a second at a time and may not have got to it yet); returns
 * f, or NULL when it was freed. Called before a packet or an ICMP error is
 * given to f: whether it still belongs to f then depends on the clock and
 * f alone, not on when other flows' packets turned the wheel.
 */
static struct flow *flow_expire_due(struct flow_table *t, struct flow *f)
{
	while (f->deadline_us <= t->now_us) {
		uint64_t before = f->deadline_us;

		if (flow_expire(t, f))
			return NULL;
		if (f->deadline_us == before)
			break; /* cannot happen: an expired flow moves on */
	}
	return f;
}

void flow_table_advance(struct flow_table *t, uint64_t now_us)
{
	uint64_t now_sec = now_us / US_PER_S;
	uint32_t steps = 0;

	if (!t->clock_started) {
		t->clock_started = 1;
		t->now_us = now_us;
		t->tw_sec = now_sec;
		return;
	}
	if (now_us <= t->now_us)
		return; /* the capture clock never goes backwards */
	t->now_us = now_us;
	/* Once a second: copies given back while no new flow came take their
	 * memory back to the budget within a second, not at the next flow. */
	if (t->tw_sec < now_sec)
		flow_take_returned(t);
	while (t->tw_sec < now_sec) {
		struct list_head due;

		if (++steps > TW_SLOTS) { /* a jump longer than the wheel: each slot seen once */
			t->tw_sec = now_sec;
			break;
		}
		t->tw_sec++;
		/* Take the whole slot first: flows put back (a later turn of the
		 * wheel, or rescheduled) are not seen again in this step. */
		list_init(&due);
		list_splice_init(&due, &t->tw[t->tw_sec % TW_SLOTS]);
		while (!list_is_empty(&due)) {
			struct flow *f = list_entry(due.next, struct flow, tw);

			list_del(&f->tw);
			if (f->deadline_us <= now_us)
				flow_expire(t, f);
			else
				tw_link(t, f);
		}
	}
}

void flow_table_advance_exact(struct flow_table *t, uint64_t now_us)
{
	struct list_head due;

	flow_table_advance(t, now_us);
	if (!t->clock_started)
		return;
	/* Deadlines of the current second wait in the next second's slot. */
	list_init(&due);
	list_splice_init(&due, &t->tw[(t->tw_sec + 1) % TW_SLOTS]);
	while (!list_is_empty(&due)) {
		struct flow *f = list_entry(due.next, struct flow, tw);

		list_del(&f->tw);
		if (f->deadline_us <= t->now_us)
			flow_expire(t, f);
		else
			tw_link(t, f);
	}
	t->exact_us = t->now_us;
}

static int port_listed(const struct flow_table *t, uint16_t port)
{
	for (uint32_t i = 0; i < t->cfg.nssh_ports; i++)
		if (t->cfg.ssh_ports[i] == port)
			return 1;
	return 0;
}

static struct flow *flow_create(struct flow_table *t, const struct pkt *p, uint32_t hash,
                                uint32_t file_index, uint32_t iface_index)
{
	struct flow *f;

	if (t->stats.open >= t->limits->max_flows && lru_oldest(t) != NULL) {
		struct flow *old = lru_oldest(t);
		t->stats.evicted++;
		flow_report(t, old, FLOW_WHY_EVICTED, t->now_us);
		evict_remember(t, old);
		flow_destroy(t, old);
	}
	if ((f = flow_alloc(t)) == NULL)
		return NULL;
	f->id = t->next_id;
	t->next_id += t->id_step;
	f->hash = hash;
	f->key = p->a;
	if ((p->flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK)) {
		/* The SYN was missed: the SYN-ACK's receiver opened the connection. */
		memcpy(f->key.src, p->a.dst, 16);
		memcpy(f->key.dst, p->a.src, 16);
		f->key.sport = p->a.dport;
		f->key.dport = p->a.sport;
		f->initiator_known = 1;
	} else if (p->flags & TCP_SYN) {
		f->initiator_known = 1;
	}
	f->candidate = f->initiator_known
	                   ? port_listed(t, f->key.dport)
	                   : port_listed(t, f->key.dport) || port_listed(t, f->key.sport);
	f->port_client_dir = -1;
	if (!f->initiator_known) {
		/* A server's port (an --ssh-ports one, or a well-known one below
		 * 1024) against an ephemeral one: the ephemeral side is the client. */
		int s = port_listed(t, f->key.sport) || f->key.sport < 1024;
		int d = port_listed(t, f->key.dport) || f->key.dport < 1024;

		if (s != d)
			f->port_client_dir = (int8_t)(s ? 1 : 0);
	}
	f->feeding = 1;
	f->close_dir = -1;
	f->t_first = p->ts_us;
	f->file_index = file_index;
	f->iface_index = iface_index;
	f->nvlan = p->nvlan;
	memcpy(f->vlan, p->vlan, sizeof(f->vlan));
	f->tunnel = p->tunnel;
	ssh_conn_init(&f->ssh, t->limits);
	f->ssh.kex = t->kex;
	f->ssh.store.pool = &t->pool;
	f->ssh.store.budget = t->budget;
	if (f->port_client_dir >= 0) {
		/* Until the SSH messages tell: HASSH and negotiation by these roles. */
		f->ssh.client_dir = f->port_client_dir;
		f->ssh.role_source = SSH_ROLE_ASSUMED;
	}
	f->ssh.budget = t->budget;
	/* A flow's own state always exists (max_flows bounds it); its buffers
	 * then get what is left of the budget. */
	budget_force(t->budget, sizeof(*f));
	f->hnext = t->bucket[hash & t->mask];
	t->bucket[hash & t->mask] = f;
	list_add_head(&t->lru, &f->lru);
	f->deadline_us = p->ts_us;
	tw_link(t, f);
	t->stats.flows++;
	t->stats.open++;
	return f;
}

static struct flow *flow_find(struct flow_table *t, const struct addr_pair *k, uint32_t hash,
                              int *dir)
{
	for (struct flow *f = t->bucket[hash & t->mask]; f != NULL; f = f->hnext) {
		if (f->hash == hash && (*dir = pair_match(&f->key, k)) >= 0)
			return f;
	}
	return NULL;
}

static void flow_icmp(struct flow_table *t, const struct pkt *p)
{
	uint32_t hash = (uint32_t)pair_hash(&p->a, &t->key);
	struct flow *f;
	int dir;

	f = flow_find(t, &p->a, hash, &dir);
	if (f != NULL)
		f = flow_expire_due(t, f);
	if (f == NULL) {
		t->stats.icmp_unmatched++;
		return;
	}
	t->stats.icmp_matched++;
	if (f->nicmp < FLOW_MAX_ICMP) {
		struct flow_icmp *ic = &f->icmp[f->nicmp];
		ic->v6 = p->icmp_v6;
		ic->type = p->icmp_type;
		ic->code = p->icmp_code;
		ic->mtu = p->icmp_mtu;
		ic->ts_us = p->ts_us;
	}
	f->nicmp++;
}

/* A SYN with a new ISN on a finished flow opens a new connection. */
static int flow_is_reused(const struct flow *f, int dir, const struct pkt *p)
{
	const struct tcp_dir *td = &f->dir[dir];

	if ((p->flags & (TCP_SYN | TCP_ACK)) != TCP_SYN || !td->syn || p->seq == td->isn)
		return 0;
	return f->state != FLOW_ACTIVE || td->fin || td->rst || f->dir[!dir].fin ||
	       f->dir[!dir].rst;
}

static void flow_note_close(struct flow_table *t, struct flow *f, int dir, const struct pkt *p)
{
	if (!(p->flags & (TCP_FIN | TCP_RST)))
		return;
	if (f->close_kind == FLOW_CLOSE_NONE) {
		f->close_dir = (int8_t)dir;
		f->close_kind = (p->flags & TCP_RST) ? FLOW_CLOSE_RST : FLOW_CLOSE_FIN;
		f->t_close = p->ts_us;
		f->close_phase_newkeys = (uint8_t)flow_established(f);
	}
	if (f->state == FLOW_ACTIVE && ((p->flags & TCP_RST) || (f->dir[0].fin && f->dir[1].fin)))
		f->state = FLOW_CLOSING;
	(void)t;
}

int flow_table_packet(struct flow_table *t, const struct pkt *p, uint32_t file_index,
                      uint32_t iface_index)
{
	uint32_t hash;
	struct flow *f;
	int dir = 0;

	flow_table_advance(t, p->ts_us);
	t->stats.packets++;
	if (p->kind == PKT_ICMP_ERROR) {
		flow_icmp(t, p);
		return KW_OK;
	}
	t->stats.bytes += p->wire_payload_len;
	/* Segments of one connection often come in a row (a banner and its
	 * KEXINIT, a window of data): try the last flow before hashing. Keys
	 * are unique in the table, so this finds what flow_find would. */
	f = t->last;
	if (f == NULL || (dir = pair_match(&f->key, &p->a)) < 0) {
		uint64_t h64 = pair_hash(&p->a, &t->key);

		hash = (uint32_t)h64;
		f = flow_find(t, &p->a, hash, &dir);
		if (f == NULL && t->stats.evicted > 0 && evict_swallow(t, h64, p)) {
			/* An evicted connection goes on: one record was enough. */
			t->stats.evicted_packets++;
			return KW_OK;
		}
	} else {
		hash = f->hash;
	}
	if (f != NULL)
		f = flow_expire_due(t, f);
	if (f != NULL && flow_is_reused(f, dir, p)) {
		t->stats.reused++;
		flow_report(t, f, FLOW_WHY_REUSED, t->now_us);
		flow_destroy(t, f);
		f = NULL;
	}
	if (f == NULL) {
		if ((f = flow_create(t, p, hash, file_index, iface_index)) == NULL)
			return KW_ERR_NOMEM;
		dir = pair_match(&f->key, &p->a);
	}
	t->last = f;
	f->t_last = p->ts_us;
	list_move_head(&t->lru, &f->lru);
	if (f->bypass && p->ts_us >= t->now_us &&
	    !(p->flags & (f->state == FLOW_REPORTED ? TCP_SYN : TCP_SYN | TCP_FIN | TCP_RST))) {
		/* Bypass (see flow_bypass_check): nothing this packet carries can
		 * reach a record. The table still needs its activity (the LRU
		 * order, and the deadline, which flow_expire moves when it comes
		 * due), a SYN, which may open a new connection (flow_is_reused),
		 * and before the record the FIN or RST that closes it (the close
		 * linger, counted timeouts): those take the full path, and so
		 * does a packet stamped before the clock, whose deadline is not
		 * its time plus the timeout (flow_reschedule's floor). */
		return KW_OK;
	}
	if (f->t_first > p->ts_us)
		f->t_first = p->ts_us;
	f->decode_anomalies |= p->anomalies;
	if (p->reassembled) {
		f->ip_fragments += p->frag_count;
		if (p->ip_len > f->frag_max_size)
			f->frag_max_size = p->ip_len;
	}
	/* The handshake, as seen at the capture point. */
	if ((p->flags & (TCP_SYN | TCP_ACK)) == TCP_SYN && dir == 0 && f->t_syn == 0)
		f->t_syn = p->ts_us;
	if ((p->flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && dir == 1 && f->t_synack == 0)
		f->t_synack = p->ts_us;
	if ((p->flags & (TCP_SYN | TCP_ACK)) == TCP_ACK && dir == 0 && f->t_synack != 0 &&
	    f->t_ack == 0 && p->ack == f->dir[1].isn + 1)
		f->t_ack = p->ts_us;

	tcp_track(f, dir, p, t->limits);
	/* Not SSH: count, no more parsing. An initiator that is not SSH leaves
	 * the responder's lines read until its banner or a non-text byte (a
	 * server banner after the client's other protocol; ssh.c). */
	if (f->feeding &&
	    (f->ssh.dir[1].state == SSH_ST_NOT_SSH ||
	     (f->ssh.dir[0].state == SSH_ST_NOT_SSH && f->ssh.dir[1].state != SSH_ST_LINES)))
		f->feeding = 0;
	flow_note_close(t, f, dir, p);
	/* Never due at the clock itself: a packet stamped before it (rotated
	 * files read out of order, a capture's own jitter) would otherwise end
	 * its flow at once, and every later one open a new flow. */
	flow_reschedule(t, f, t->now_us + 1);
	flow_bypass_check(f);
	return KW_OK;
}

static int flow_cmp_id(const void *a, const void *b)
{
	const struct flow *fa = *(const struct flow *const *)a;
	const struct flow *fb = *(const struct flow *const *)b;

	return fa->id < fb->id ? -1 : fa->id > fb->id;
}

void flow_table_flush(struct flow_table *t)
{
	struct flow **all, *f, *next;
	uint64_t n = 0;

	/* Due but not yet seen by the wheel: they timed out, as they would have. */
	list_for_each_entry_safe(f, next, &t->lru, lru)
		if (f->deadline_us <= t->now_us && t->clock_started)
			flow_expire_due(t, f);

	/* Report in flow_id order, so records read like the capture. */
	all = malloc((t->stats.open + 1) * sizeof(*all));
	if (all == NULL) { /* no memory to sort: report in activity order */
		while ((f = lru_oldest(t)) != NULL) {
			flow_report(t, f, FLOW_WHY_CAPTURE_END, UINT64_MAX);
			flow_destroy(t, f);
		}
		return;
	}
	list_for_each_entry(f, &t->lru, lru)
		all[n++] = f;
	qsort(all, n, sizeof(*all), flow_cmp_id);
	for (uint64_t i = 0; i < n; i++) {
		if (all[i]->state == FLOW_ACTIVE || all[i]->state == FLOW_CLOSING)
			flow_report(t, all[i],
			            all[i]->state == FLOW_CLOSING ? FLOW_WHY_CLOSED
			                                          : FLOW_WHY_CAPTURE_END,
			            UINT64_MAX);
		flow_destroy(t, all[i]);
	}
	free(all);
}

void flow_table_free(struct flow_table *t)
{
	if (t == NULL)
		return;
	while (lru_oldest(t) != NULL)
		flow_destroy(t, lru_oldest(t));
	flow_take_returned(t);
	while (t->spare != NULL) {
		struct flow *f = t->spare;

		t->spare = f->hnext;
		free(f);
	}
	flowmem_pool_free(&t->pool);
	if (t->budget != NULL)
		budget_local_end(t->budget);
	kex_ctx_free(t->kex);
	free(t->evicted);
	free(t->bucket);
	free(t);
}

const struct flow_stats *flow_table_stats(const struct flow_table *t)
{
	return &t->stats;
}

uint64_t flow_table_horizon(const struct flow_table *t)
{
	/*
	 * Every slot up to tw_sec has run: a flow still waiting was due after
	 * the clock when its slot ran (so after tw_sec's start), or was put
	 * back by a packet no earlier than the clock (flow_reschedule's
	 * floor). Reused pairs and evictions are final at the clock, later.
	 */
	uint64_t h = t->tw_sec * US_PER_S;

	/* After an exact advance every deadline up to the clock has run. */
	if (t->exact_us > h)
		h = t->exact_us;
	return t->clock_started ? h : 0;
}

void flow_release(struct flow *f)
{
	struct flow_table *t;
	struct flow *head;

	if (f == NULL)
		return;
	/* Every copy keeps its table's pool (flow_handoff): that is its home. */
	t = (struct flow_table *)(void *)((char *)f->ssh.store.pool -
	                                  offsetof(struct flow_table, pool));
	if (t->cfg.handoff_same_thread) {
		flow_free_parts(f, t->budget);
		spare_put(t, f);
		return;
	}
	/* Another thread's: its table frees it on its own thread, without a
	 * lock (a push onto a list the table takes whole). */
	head = atomic_load_explicit(&t->returned, memory_order_relaxed);
	do
		f->hnext = head;
	while (!atomic_compare_exchange_weak_explicit(&t->returned, &head, f, memory_order_release,
	                                              memory_order_relaxed));
}
