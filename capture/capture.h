/*
 * capture.h: packet sources. The only module that talks to libpcap.
 *
 * Opens capture files (pcap, pcapng, gzip-compressed either way, "-" for
 * standard input) and live interfaces (libpcap's memory-mapped ring,
 * nonblocking, one selectable descriptor each), and hands out frames with
 * their capture timestamp in microseconds. Also writes the evidence capture
 * (pcapng, see capture_writer_open). Not responsible for decoding (dissect/)
 * or for deciding what to keep (app/).
 */
#ifndef KW_CAPTURE_H
#define KW_CAPTURE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct capture_frame {
	uint64_t ts_us;
	uint32_t caplen, wirelen;
	const uint8_t *data; /* valid until the next capture_next on the same capture */
};

struct capture;

/*
 * capture_open_file opens path ("-" is standard input). gzip is recognised by
 * its magic bytes, not the name. Returns 0 with *out set, or KW_ERR_IO with a
 * one-line reason in err (the path is not included; the caller names it).
 */
int capture_open_file(struct capture **out, const char *path, char *err, size_t errlen);

/*
 * What a streamed input (standard input, a pipe, a FIFO: anything but a
 * regular file) does while no byte is waiting. Its frames are handed out as
 * soon as their bytes arrive, never after a full read-ahead block; while it
 * is quiet, idle(ctx, quiet_us) is called at once (quiet_us 0: write what is
 * due) and then every CAPTURE_IDLE_TICK_MS with how long it has been quiet.
 * The callback may touch anything but this capture.
 */
#define CAPTURE_IDLE_TICK_MS 250
struct capture_wait {
	void (*idle)(void *ctx, uint64_t quiet_us);
	void *ctx;
};

/* capture_set_wait sets c's wait callbacks (copied; NULL: none). Files ignore it. */
void capture_set_wait(struct capture *c, const struct capture_wait *w);

/*
 * capture_set_stop_flag: a flag a signal handler sets (process-wide,
 * borrowed for the process's life). A streamed input waiting for bytes
 * looks at it at least every CAPTURE_IDLE_TICK_MS and when a signal
 * interrupts the wait (handlers without SA_RESTART), and then ends its
 * read with an error (capture_next: KW_ERR_IO, errno EINTR), so a signal
 * is never held up by a writer that keeps a pipe open.
 */
void capture_set_stop_flag(volatile sig_atomic_t *flag);

/* Options of a live capture (capture_open_live). */
struct capture_live_opts {
	const char *iface;  /* interface name, or "any" (Linux cooked v2 frames) */
	const char *filter; /* BPF expression; NULL: capture_default_filter */
	int snaplen;        /* bytes kept per frame (> 0) */
	int buffer_kib;     /* kernel ring size in KiB; 0: libpcap's default */
	int promisc;        /* promiscuous mode */
	int timeout_ms;     /* longest a frame waits in the ring before poll wakes */
};

/*
 * capture_open_live opens and activates a live capture in nonblocking mode
 * (needs root or CAP_NET_RAW; a kernel buffer above the system maximum needs
 * CAP_NET_ADMIN). Returns 0 with *out set, or KW_ERR_IO with a one-line
 * reason in err (the interface is not named; the caller names it). A
 * libpcap warning (e.g. promiscuous mode refused) is not an error: it is put
 * in err with 0 returned, err[0] otherwise '\0'.
 */
int capture_open_live(struct capture **out, const struct capture_live_opts *o, char *err,
                      size_t errlen);

/*
 * capture_set_filter compiles expr for the capture's link type and installs
 * it (files too). Returns 0, or KW_ERR_MALFORMED with libpcap's reason in err.
 */
int capture_set_filter(struct capture *c, const char *expr, char *err, size_t errlen);

/*
 * capture_default_filter: the filter used without -f, for link type link.
 * All TCP (SSH is told by its identification line, on any port, so no port
 * can be filtered), the ICMP/ICMPv6 errors the diagnoses quote (destination
 * unreachable, time exceeded, packet too big), IPv6 fragments, and the
 * tunnels decode.c opens (IP in IP, GRE, VXLAN, Geneve), also inside one or
 * two 802.1Q tags where the link has them. A static string.
 */
const char *capture_default_filter(int link);

/*
 * capture_next gives the next frame: 1 with *f filled, 0 at the end of the
 * input (live: no frame is waiting now; poll capture_fd), KW_ERR_IO when
 * the input is damaged or unreadable, or the interface went away
 * (capture_error says why; frames already returned stay valid facts).
 */
int capture_next(struct capture *c, struct capture_frame *f);

/*
 * Frames held in place. Normally a frame's bytes are valid until the next
 * capture_next. capture_hold asks that the frames of a mapped file (an
 * uncompressed classic pcap, see mapfile.h) stay valid after it, until
 * capture_unhold releases the windows of the file they lie in, so another
 * thread may read them in place. Returns 1 when the input is such a file
 * without a filter (now held), 0 otherwise (its frames stay valid until
 * the next capture_next only). Without a filter one capture_next maps at
 * most two new windows. Windows are numbered from 1 in reading order;
 * capture_window is the window of the last frame given, capture_held the
 * windows mapped now (the current one included). The holder unholds
 * before MAPFILE_HOLD_MAX windows are held (mapfile.h).
 */
int capture_hold(struct capture *c);
uint64_t capture_window(const struct capture *c);
/* capture_unhold unmaps the held windows numbered below window. */
void capture_unhold(struct capture *c, uint64_t window);
uint32_t capture_held(const struct capture *c);

/* capture_fd: the descriptor to poll for a live capture (-1 for a file). */
int capture_fd(const struct capture *c);

/*
 * capture_join_fanout joins live capture c to the kernel's packet fanout
 * group (Linux PACKET_FANOUT, per network namespace) with the given id:
 * the sockets of a group share the interface's packets, each packet going
 * to one of them by a hash of its flow (PACKET_FANOUT_HASH), IPv4
 * fragments being reassembled first (PACKET_FANOUT_FLAG_DEFRAG) so that
 * they hash like the rest of their flow. Returns 0, or KW_ERR_IO with the
 * reason in err (not Linux, or the id is taken by another kind of group).
 */
int capture_join_fanout(struct capture *c, uint16_t id, char *err, size_t errlen);

/* libpcap's counters of a live capture, kept in 64 bits across wrap-around. */
struct capture_counters {
	uint64_t recv;   /* ps_recv: frames that passed the filter */
	uint64_t drop;   /* ps_drop: dropped by the kernel (ring full) */
	uint64_t ifdrop; /* ps_ifdrop: dropped by the interface */
};

/*
 * capture_counters refreshes and copies the counters since the capture was
 * opened. Call it at least every few minutes on a busy link: libpcap's
 * counters are 32 bits wide. Returns 0, or KW_ERR_IO (files have none).
 */
int capture_counters(struct capture *c, struct capture_counters *out);

/* capture_link: the link type (LINKTYPE_ value) of the frames. */
int capture_link(const struct capture *c);
/* capture_error: the last error, a static or capture-owned string. */
const char *capture_error(const struct capture *c);
/* capture_bytes: bytes of the underlying file consumed so far (progress). */
uint64_t capture_bytes(const struct capture *c);
void capture_close(struct capture *c);

/*
 * A directory of capture files (dirlist.c): -r DIR reads them all in the
 * order of their first frame's time; --follow DIR reads each as a rotation
 * (tcpdump -G, -C) finishes it. Hidden files and directories are ignored.
 */
struct capture_dir;

/*
 * capture_dir_open prepares dir (at most max_files files are ever listed).
 * 0 with *out set, KW_ERR_IO (not a directory) or KW_ERR_NOMEM, with a
 * reason in err.
 */
int capture_dir_open(struct capture_dir **out, const char *dir, uint32_t max_files, char *err,
                     size_t errlen);

/*
 * capture_dir_scan looks for files not seen before and reads the first
 * frame of those that have none known yet (each file is opened until it
 * has one). Returns how many became ready to read, or KW_ERR_IO when the
 * directory cannot be read.
 */
int capture_dir_scan(struct capture_dir *d);

/*
 * capture_dir_next: the unread file with the earliest first frame, once it
 * is finished: a later file exists, or final (nothing more will be
 * written). NULL when there is none. The path is d's until
 * capture_dir_close. Files without a frame are never returned.
 */
const char *capture_dir_next(struct capture_dir *d, int final);

/* capture_dir_skipped: files that turned out not to be captures. */
uint32_t capture_dir_skipped(const struct capture_dir *d);

/* capture_dir_close frees d and the paths it gave out; NULL is allowed. */
void capture_dir_close(struct capture_dir *d);

/*
 * capture_link_name: libpcap's short name of a link type, lower case
 * ("en10mb", "raw", "linux_sll2"), written into buf; "linktype-N" when
 * libpcap does not know it. Returns buf.
 */
const char *capture_link_name(int link, char *buf, size_t size);

/* capture_lib_version: libpcap's version string. */
const char *capture_lib_version(void);

/*
 * The evidence writer: frames of chosen connections, as pcapng (one
 * interface block per capture interface, so frames keep their link type and
 * interface name; Wireshark, tshark, tcpdump and kexwatch -r read it).
 */
struct capture_writer;

struct capture_writer_iface {
	const char *name; /* borrowed for the writer's life */
	int link;         /* LINKTYPE_ value */
	uint32_t snaplen;
};

/*
 * capture_writer_open creates path (an existing non-empty file is first
 * renamed to path.1) and writes the section and interface blocks. The
 * writer keeps the file below max_bytes by renaming it to path.1 (replacing
 * the previous one) and starting a new one, never in the middle of a group
 * of frames (capture_writer_reserve). Returns 0 with *out set, or KW_ERR_IO
 * with a one-line reason in err.
 */
int capture_writer_open(struct capture_writer **out, const char *path,
                        const struct capture_writer_iface *ifaces, uint32_t nifaces,
                        uint64_t max_bytes, char *err, size_t errlen);

/*
 * capture_writer_reserve announces a group of frames of about bytes bytes
 * (data and headers), rotating first when the group would not fit.
 * capture_writer_put writes one frame; capture_writer_flush ends a group
 * (the file is then complete on disk). Each returns 0 or KW_ERR_IO (errno
 * set); a failed writer retries with the next group.
 */
int capture_writer_reserve(struct capture_writer *w, uint64_t bytes);
int capture_writer_put(struct capture_writer *w, uint32_t iface, uint64_t ts_us,
                       const uint8_t *data, uint32_t caplen, uint32_t wirelen);
int capture_writer_flush(struct capture_writer *w);
/* capture_writer_frame_cost: the bytes capture_writer_put adds for caplen bytes. */
uint64_t capture_writer_frame_cost(uint32_t caplen);
/* capture_writer_close flushes and closes; NULL is allowed. */
void capture_writer_close(struct capture_writer *w);

#endif
