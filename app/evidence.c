/*
 * evidence.c: the raw frames of each connection until its record is out
 * (see app.h), so a failed handshake can be opened in Wireshark.
 *
 * Responsible for holding frames per connection within three bounds (frames
 * and bytes per connection: the handshake is in the first few dozen frames;
 * bytes for all connections; connections followed at once), evicting the
 * least recently active connection first, and handing the frames of a
 * connection whose record has an error-level diagnosis to the writer
 * (capture/writer.c) as one group. The connection is found by its address
 * pair, without looking into the flow table: flow_table_stats().flows
 * moving during flow_table_packet says the packet began a new flow, and the
 * report callback, called once per reported flow, says when it ends.
 * Several packet loops (--workers) offer frames and one thread says which
 * flows were reported: one mutex serializes them (a frame copy each).
 * Known gaps: fragments held for reassembly are not kept (only the packet
 * that completed a datagram); frames of connections that are never
 * reported (not SSH) occupy the buffer until evicted.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "err.h"
#include "hash.h"
#include "list.h"

struct ev_key {
	uint8_t family;
	uint8_t a[16], b[16];
	uint16_t pa, pb;
};

/* A frame as stored in an entry's buffer: this header, then caplen bytes. */
struct ev_frame {
	uint64_t ts_us;
	uint32_t iface, caplen, wirelen;
};

struct ev_entry {
	struct ev_entry *hnext;
	struct list_head lru; /* the buffer's order, most recently active first */
	struct ev_key key;
	uint32_t hash;
	uint8_t live;     /* 0: reported (or over its bounds): frames not kept */
	uint64_t t_first; /* the first frame of the connection it follows now */
	uint32_t nframes;
	uint8_t *buf;
	size_t len, cap;
};

/*
 * libpcap reads a pcapng file only when all its interfaces share one link
 * type, so each link type gets a file of its own (evidence_open).
 */
#define EVIDENCE_MAX_LINKS 8

struct evidence {
	pthread_mutex_t mu; /* every call but open and close */
	struct evidence_config cfg;
	struct capture_writer *w[EVIDENCE_MAX_LINKS]; /* one file per link type */
	uint32_t nw;
	uint32_t *writer_of; /* by interface: its file */
	uint32_t *local_of;  /* by interface: its index in that file */
	struct ev_entry **bucket;
	uint32_t mask, count;
	struct list_head lru;
	struct hash_key key; /* the process's hash key, cfg.seed mixed in */
	uint64_t buffered;
	struct report_evidence_counters n;
};

/*
 * link_path: the file for the k-th link type: path itself for the first,
 * then path with the link type's name before ".pcapng" (or after path):
 * evidence.pcapng, evidence.raw.pcapng. malloc'd; NULL when out of memory.
 */
static char *link_path(const char *path, uint32_t k, int link)
{
	static const char ext[] = ".pcapng";
	size_t n = strlen(path), stem = n;
	char name[64], *p;

	if (k == 0)
		return strdup(path);
	capture_link_name(link, name, sizeof(name));
	if (n > sizeof(ext) - 1 && strcmp(path + n - (sizeof(ext) - 1), ext) == 0)
		stem = n - (sizeof(ext) - 1);
	if ((p = malloc(n + strlen(name) + 2)) != NULL)
		sprintf(p, "%.*s.%s%s", (int)stem, path, name, path + stem);
	return p;
}

/* open_writers opens one evidence file per link type; 0, or 1 after saying why. */
static int open_writers(struct evidence *ev)
{
	const struct evidence_config *cfg = &ev->cfg;
	struct capture_writer_iface *sub;
	int links[EVIDENCE_MAX_LINKS];
	char err[256];
	uint32_t n = cfg->nifaces;

	ev->writer_of = calloc(n ? n : 1, sizeof(*ev->writer_of));
	ev->local_of = calloc(n ? n : 1, sizeof(*ev->local_of));
	sub = calloc(n ? n : 1, sizeof(*sub));
	if (ev->writer_of == NULL || ev->local_of == NULL || sub == NULL) {
		free(sub);
		fprintf(stderr, "kexwatch: out of memory\n");
		return 1;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k;
		for (k = 0; k < ev->nw && links[k] != cfg->ifaces[i].link; k++)
			;
		if (k == ev->nw) {
			if (ev->nw == EVIDENCE_MAX_LINKS) {
				fprintf(stderr, "kexwatch: %s: more than %d link types\n",
				        cfg->path, EVIDENCE_MAX_LINKS);
				free(sub);
				return 1;
			}
			links[ev->nw++] = cfg->ifaces[i].link;
		}
		ev->writer_of[i] = k;
	}
	for (uint32_t k = 0; k < ev->nw; k++) {
		uint32_t m = 0;
		char *path = link_path(cfg->path, k, links[k]);
		for (uint32_t i = 0; i < n; i++)
			if (ev->writer_of[i] == k) {
				ev->local_of[i] = m;
				sub[m++] = cfg->ifaces[i];
			}
		if (path == NULL ||
		    capture_writer_open(&ev->w[k], path, sub, m, cfg->max_file_bytes, err,
		                        sizeof(err)) != 0) {
			fprintf(stderr, "kexwatch: %s: %s\n", path ? path : cfg->path,
			        path ? err : "out of memory");
			free(path);
			free(sub);
			return 1;
		}
		free(path);
	}
	free(sub);
	return 0;
}

int evidence_open(struct evidence **out, const struct evidence_config *cfg)
{
	struct evidence *ev = calloc(1, sizeof(*ev));
	uint32_t size = 1024;

	*out = NULL;
	while (size < cfg->max_entries && size < (1u << 24))
		size <<= 1;
	if (ev == NULL || (ev->bucket = calloc(size, sizeof(*ev->bucket))) == NULL) {
		free(ev);
		fprintf(stderr, "kexwatch: out of memory\n");
		return 1;
	}
	ev->cfg = *cfg;
	pthread_mutex_init(&ev->mu, NULL);
	ev->mask = size - 1;
	list_init(&ev->lru);
	hash_key_get(&ev->key);
	ev->key.k[0] ^= cfg->seed;
	hash_key_normalize(&ev->key);
	if (open_writers(ev) != 0) {
		evidence_close(ev);
		return 1;
	}
	*out = ev;
	return 0;
}

/* key_of orders the two endpoints, so both directions find one entry. */
static void key_of(struct ev_key *k, const struct addr_pair *p)
{
	int swap = memcmp(p->src, p->dst, 16);

	if (swap == 0)
		swap = p->sport > p->dport;
	else
		swap = swap > 0;
	memset(k, 0, sizeof(*k));
	k->family = p->family;
	memcpy(k->a, swap ? p->dst : p->src, 16);
	memcpy(k->b, swap ? p->src : p->dst, 16);
	k->pa = swap ? p->dport : p->sport;
	k->pb = swap ? p->sport : p->dport;
}

/* key_hash: the common keyed hash (hash.h): the table is not for an attacker to fill. */
static uint32_t key_hash(const struct ev_key *k, const struct hash_key *key)
{
	uint64_t h = hash_bytes(key, k, sizeof(*k));

	return (uint32_t)(h ^ (h >> 32));
}

static int key_eq(const struct ev_key *x, const struct ev_key *y)
{
	return x->family == y->family && x->pa == y->pa && x->pb == y->pb &&
	       memcmp(x->a, y->a, 16) == 0 && memcmp(x->b, y->b, 16) == 0;
}

/* lru_oldest: the least recently active entry, NULL when there is none. */
static struct ev_entry *lru_oldest(const struct evidence *ev)
{
	return list_entry_or_null(list_last(&ev->lru), struct ev_entry, lru);
}

static void entry_clear(struct evidence *ev, struct ev_entry *e)
{
	ev->buffered -= e->cap;
	free(e->buf);
	e->buf = NULL;
	e->len = e->cap = 0;
	e->nframes = 0;
}

static void entry_free(struct evidence *ev, struct ev_entry *e)
{
	struct ev_entry **pp = &ev->bucket[e->hash & ev->mask];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
	list_del(&e->lru);
	if (e->live)
		ev->n.frames_missed += e->nframes;
	entry_clear(ev, e);
	free(e);
	ev->count--;
}

static struct ev_entry *entry_find(struct evidence *ev, const struct ev_key *k, uint32_t h)
{
	for (struct ev_entry *e = ev->bucket[h & ev->mask]; e != NULL; e = e->hnext)
		if (e->hash == h && key_eq(&e->key, k))
			return e;
	return NULL;
}

/*
 * make_room evicts the least recently active entries other than keep until
 * bytes more fit, and (new_entry) one more entry does.
 */
static void make_room(struct evidence *ev, size_t bytes, const struct ev_entry *keep, int new_entry)
{
	while ((ev->buffered + bytes > ev->cfg.max_buffer_bytes ||
	        (new_entry && ev->count >= ev->cfg.max_entries)) &&
	       lru_oldest(ev) != NULL && lru_oldest(ev) != keep)
		entry_free(ev, lru_oldest(ev));
}

static struct ev_entry *entry_new(struct evidence *ev, const struct ev_key *k, uint32_t h)
{
	struct ev_entry *e;

	make_room(ev, 0, NULL, 1);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->key = *k;
	e->hash = h;
	e->hnext = ev->bucket[h & ev->mask];
	ev->bucket[h & ev->mask] = e;
	list_add_head(&ev->lru, &e->lru);
	ev->count++;
	return e;
}

static void frame_locked(struct evidence *ev, const struct pkt *p, int new_flow, uint32_t iface,
                         uint64_t ts_us, const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
	struct ev_frame fr = {.ts_us = ts_us, .iface = iface, .caplen = caplen, .wirelen = wirelen};
	size_t need = sizeof(fr) + caplen;
	struct ev_key k;
	struct ev_entry *e;
	uint32_t h;

	key_of(&k, &p->a);
	h = key_hash(&k, &ev->key);
	e = entry_find(ev, &k, h);
	if (new_flow && p->kind == PKT_TCP) {
		if (e == NULL && (e = entry_new(ev, &k, h)) == NULL) {
			ev->n.frames_missed++;
			return;
		}
		if (e->live) /* frames of an earlier flow never reported */
			ev->n.frames_missed += e->nframes;
		entry_clear(ev, e);
		e->live = 1;
		e->t_first = ts_us;
	}
	if (e == NULL || !e->live)
		return; /* not followed (evicted, or already reported) */
	if (e->nframes >= ev->cfg.max_frames_per_flow ||
	    e->len + need > ev->cfg.max_bytes_per_flow) {
		ev->n.frames_missed++;
		return;
	}
	if (e->len + need > e->cap) {
		size_t cap = e->cap ? e->cap : 4096;
		uint8_t *b;
		while (cap < e->len + need)
			cap *= 2;
		if (cap > ev->cfg.max_bytes_per_flow)
			cap = ev->cfg.max_bytes_per_flow;
		make_room(ev, cap - e->cap, e, 0);
		if (ev->buffered + (cap - e->cap) > ev->cfg.max_buffer_bytes ||
		    (b = realloc(e->buf, cap)) == NULL) {
			ev->n.frames_missed++;
			return;
		}
		ev->buffered += cap - e->cap;
		e->buf = b;
		e->cap = cap;
	}
	memcpy(e->buf + e->len, &fr, sizeof(fr));
	memcpy(e->buf + e->len + sizeof(fr), data, caplen);
	e->len += need;
	e->nframes++;
	list_move_head(&ev->lru, &e->lru);
}

void evidence_frame(struct evidence *ev, const struct pkt *p, int new_flow, uint32_t iface,
                    uint64_t ts_us, const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
	pthread_mutex_lock(&ev->mu);
	frame_locked(ev, p, new_flow, iface, ts_us, data, caplen, wirelen);
	pthread_mutex_unlock(&ev->mu);
}

/*
 * write_entry writes a connection's frames, each to the file of its link
 * type, as one group per file (a rotation never splits a connection).
 */
static void write_entry(struct evidence *ev, struct ev_entry *e)
{
	uint64_t cost[EVIDENCE_MAX_LINKS] = {0};
	struct ev_frame fr;
	size_t off;
	int r = 0;

	for (off = 0; off < e->len; off += sizeof(fr) + fr.caplen) {
		memcpy(&fr, e->buf + off, sizeof(fr));
		if (fr.iface < ev->cfg.nifaces)
			cost[ev->writer_of[fr.iface]] += capture_writer_frame_cost(fr.caplen);
	}
	for (uint32_t k = 0; r == 0 && k < ev->nw; k++)
		if (cost[k] > 0)
			r = capture_writer_reserve(ev->w[k], cost[k]);
	for (off = 0; r == 0 && off < e->len; off += sizeof(fr) + fr.caplen) {
		memcpy(&fr, e->buf + off, sizeof(fr));
		if (fr.iface >= ev->cfg.nifaces)
			continue; /* our bug: frames come from the interfaces we were given */
		r = capture_writer_put(ev->w[ev->writer_of[fr.iface]], ev->local_of[fr.iface],
		                       fr.ts_us, e->buf + off + sizeof(fr), fr.caplen, fr.wirelen);
	}
	for (uint32_t k = 0; r == 0 && k < ev->nw; k++)
		if (cost[k] > 0)
			r = capture_writer_flush(ev->w[k]);
	if (r != 0) {
		if (ev->n.write_errors++ == 0)
			perror("kexwatch: evidence capture");
		ev->n.frames_missed += e->nframes;
		return;
	}
	ev->n.connections++;
	ev->n.frames += e->nframes;
}

void evidence_flow_reported(struct evidence *ev, const struct flow *f, int keep)
{
	struct ev_key k;
	struct ev_entry *e;
	uint32_t h;

	key_of(&k, &f->key);
	h = key_hash(&k, &ev->key);
	pthread_mutex_lock(&ev->mu);
	/* With several workers the record is written after its worker went
	 * on: the pair may already carry a newer connection (its first frame
	 * came after this one's last packet), left alone. */
	if ((e = entry_find(ev, &k, h)) != NULL && e->live && e->t_first <= f->t_last) {
		if (keep && e->nframes > 0)
			write_entry(ev, e);
		entry_clear(ev, e);
		e->live = 0; /* the rest of this connection is not needed */
	}
	pthread_mutex_unlock(&ev->mu);
}

void evidence_counters(struct evidence *ev, struct report_evidence_counters *out)
{
	pthread_mutex_lock(&ev->mu);
	*out = ev->n;
	out->buffered_bytes = ev->buffered;
	pthread_mutex_unlock(&ev->mu);
}

void evidence_close(struct evidence *ev)
{
	struct ev_entry *e;

	if (ev == NULL)
		return;
	while ((e = lru_oldest(ev)) != NULL) {
		e->live = 0;
		entry_free(ev, e);
	}
	for (uint32_t k = 0; k < ev->nw; k++)
		capture_writer_close(ev->w[k]);
	free(ev->writer_of);
	free(ev->local_of);
	pthread_mutex_destroy(&ev->mu);
	free(ev->bucket);
	free(ev);
}
