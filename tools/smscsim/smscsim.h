/*
 * tools/smscsim: the SMSC simulator. An SMPP 3.4 server for one libevent loop that
 * plays the operator's SMSC and the phones behind it, for the demo (console.c), tests
 * and benchmarks (script.c). See docs/smscsim.md for the usage.
 *
 *  - sim.c      the simulator object: listener, options, the hooks that tell the
 *               console or the script what happened, small helpers.
 *  - conn.c     one ESME connection: framing, binds, enquire_link, submit_sm, unbind;
 *               the misbehaving SMSC (drops, throttling, slow or no answers, silence)
 *               and, at each close, the submit_sm the ESME is still waiting for.
 *  - mo.c       MOs and delivery receipts towards the ESME: the queue, the window,
 *               deliver_sm_resp tracking, redelivery after a dropped link.
 *  - mt.c       MTs from the ESME: UDH / SAR / message_payload reassembly, the list,
 *               duplicates (the same text to the same number accepted twice).
 *  - text.c     UTF-8 <-> the SMS data codings we send, escaping for one-line output.
 *  - input.c    line input from stdin or a file, driven by the loop.
 *  - script.c   script mode; console.c console mode; main.c options and main().
 *  - load.c     load mode (benchmarks): N numbered MOs from K senders, open loop at a
 *               rate or closed loop in a window, each matched to the first submit_sm
 *               to its sender after it; latencies in a fixed histogram.
 *
 * Everything runs on the loop thread. Nothing here frees an ESME connection from
 * inside another module's callback: the script and console are run from a deferred
 * event, so a command such as "drop" never pulls a connection out from under its
 * read callback.
 */
#ifndef SMSCSIM_H
#define SMSCSIM_H

#include <stddef.h>
#include <stdint.h>
#include <regex.h>

struct event_base;
struct event;
struct evbuffer;
struct bufferevent;
struct evconnlistener;
struct evbuffer_cb_entry;

#define SMSCSIM_MAX_CONNS      4        /* a transceiver, or a transmitter + receiver pair, + spares */
#define SMSCSIM_WINDOW         100      /* outstanding deliver_sm per connection */
#define SMSCSIM_QUEUE_MAX      1000     /* MOs waiting for a bind or the window */
#define SMSCSIM_DEQUE_CAP      2048     /* QUEUE_MAX + redeliveries (WINDOW x MAX_CONNS) */
#define SMSCSIM_MAX_MOS        1000000  /* MO records kept for mo_status */
#define SMSCSIM_MAX_MTS        1000000  /* MT records kept for expect and mt_dump */
#define SMSCSIM_MO_MAX_PARTS   16       /* a long MO goes out as up to 16 UDH parts */
#define SMSCSIM_MO_TEXT_MAX    4096     /* UTF-8 bytes of one MO */
#define SMSCSIM_REASM_SLOTS    64       /* concatenated MTs being reassembled at once */
#define SMSCSIM_REASM_TIMEOUT_MS 120000
#define SMSCSIM_OUT_MAX        (4 * 1024 * 1024) /* stop reading an ESME that does not read */
#define SMSCSIM_IN_MAX         (256 * 1024)
#define SMSCSIM_LINE_MAX       65536

enum smscsim_mode { SMSCSIM_MODE_CONSOLE, SMSCSIM_MODE_SCRIPT, SMSCSIM_MODE_LOAD };

enum smscsim_drop_mt {
	SMSCSIM_DROP_MT_UNANSWERED = 1,   /* drop_after_mt */
	SMSCSIM_DROP_MT_ANSWERED,         /* drop_after_mt_resp */
	SMSCSIM_DROP_MT_LOST,             /* drop_after_mt_resp N lost */
};

enum smscsim_bind {
	SMSCSIM_BIND_NONE = 0,
	SMSCSIM_BIND_TX,
	SMSCSIM_BIND_RX,
	SMSCSIM_BIND_TRX,
};

struct smscsim_options {
	const char *listen;          /* HOST:PORT (port 0: any, printed) */
	const char *system_id;       /* NULL: any */
	const char *password;        /* NULL: any */
	const char *shortcode;
	const char *from;            /* console phone */
	const char *script;          /* FILE or "-" */
	const char *log_file;
	int console;
	int redeliver;               /* 1 unless --no-redeliver */
	int dlr;                     /* send delivery receipts when asked (default 1) */
	int enquire_link_s;          /* 0: never */
	int verbose;
};

/* A submit_sm taken but not answered (mt_resp none, silence, mt_delay, a drop), or
 * answered with the answer still in our output buffer. At a close these are what the
 * ESME is still waiting for: the only replies it may rightly send twice. */
enum smscsim_pend_kind {
	SMSCSIM_PEND_NONE,           /* never answered */
	SMSCSIM_PEND_DELAY,          /* answered at due_ms (mt_delay) */
	SMSCSIM_PEND_LOST,           /* accepted, its answer lost with the link */
	SMSCSIM_PEND_UNSENT,         /* answered; the bytes end at end_off of the output */
	SMSCSIM_PEND_UNREAD,         /* sent by the ESME, never read (found at a close) */
};

struct smscsim_pending {
	enum smscsim_pend_kind kind;
	uint32_t seq;
	int64_t due_ms;
	uint64_t end_off;
	char to[21];
	char *text;                  /* this part's text, UTF-8, malloc'd */
	uint8_t *raw;                /* DELAY: the PDU, decoded again when answered */
	uint32_t raw_len;
};

/* A growable list of them (short: about the ESME's window). */
struct smscsim_pendings {
	struct smscsim_pending *v;
	int n, cap;
};

/* One outstanding deliver_sm on a connection. */
struct smscsim_inflight {
	uint32_t seq;
	uint32_t rec;                /* index into sim->mos */
	uint8_t part;
	int64_t sent_ms;
};

struct smscsim_conn {
	struct smscsim *sim;
	int slot;                    /* index in sim->conns */
	struct bufferevent *bev;
	char peer[64];
	enum smscsim_bind bind;
	char system_id[16];
	int closing;                 /* free once the output is flushed */
	const char *close_why;       /* static text */
	int read_paused;             /* output over SMSCSIM_OUT_MAX */
	uint32_t seq;                /* last sequence number we used */
	uint32_t unbind_seq;         /* our unbind waiting for its resp, 0: none */
	struct event *elink_ev;
	struct smscsim_inflight inflight[SMSCSIM_WINDOW];
	int ninflight;
	/* submit_sm the ESME waits for: taken, not answered (pend), and answered but not
	 * yet written to the socket (unsent, by output byte offsets) */
	struct smscsim_pendings pend, unsent;
	struct event *delay_ev;      /* the next mt_delay answer */
	int64_t last_due_ms;         /* delayed answers keep their order */
	struct evbuffer_cb_entry *out_cb;
	uint64_t out_added, out_drained;
	int noutstanding;            /* set at the close, for the DROPPED / CLOSED line */
};

enum smscsim_part_state { SMSCSIM_PART_QUEUED = 0, SMSCSIM_PART_SENT, SMSCSIM_PART_DONE };

/* An MO (or a delivery receipt) the simulator delivers to the ESME. */
struct smscsim_mo {
	uint32_t number;             /* MO number for mo_status (receipts: 0) */
	int is_dlr;
	int quiet;                   /* burst: no line per MO */
	char from[21];
	char to[21];
	char *text;                  /* UTF-8 */
	uint8_t dc;
	uint8_t esm_class;           /* 0x40 when in parts, 0x04 for a receipt */
	uint8_t ref;                 /* UDH reference when in parts */
	uint8_t nparts;
	uint8_t *body;               /* encoded text, all parts back to back */
	uint16_t part_off[SMSCSIM_MO_MAX_PARTS + 1];
	uint8_t part_state[SMSCSIM_MO_MAX_PARTS];
	char receipted_id[65];       /* receipts only */
	int queued;                  /* in sim->queue */
	int answered;                /* every part answered */
	int lost;                    /* link dropped with --no-redeliver */
	uint32_t status;             /* first non-OK part status, else ESME_ROK */
	uint32_t last_seq;
	int64_t created_ms, answered_ms;
};

/* An MT the ESME submitted (parts joined). */
struct smscsim_mt {
	char to[21];
	char from[21];
	uint8_t dc;
	uint8_t nparts;
	char *text;                  /* UTF-8 */
	int consumed;                /* by an expect */
	int dup;                     /* the same (to, text) was accepted before */
	int64_t at_ms;
};

/* A concatenated MT waiting for its other parts. */
struct smscsim_reasm {
	int used;
	char to[21], from[21];
	uint16_t ref;
	uint8_t total, have, dc;
	int64_t first_ms;
	uint8_t *part[256];
	uint16_t part_len[256];
};

struct smscsim_script;
struct smscsim_console;
struct smscsim_input;
struct smscsim_load;

struct smscsim {
	struct event_base *base;
	struct smscsim_options opt;
	enum smscsim_mode mode;
	struct evconnlistener *listener;
	char listen_addr[80];        /* as bound, with the real port */

	struct smscsim_conn *conns[SMSCSIM_MAX_CONNS];

	/* MO records and the queue of those waiting to be sent (indices, a ring) */
	struct smscsim_mo *mos;
	uint32_t nmos, mos_cap;
	uint32_t mo_numbers;         /* MOs created (receipts not counted) */
	int64_t last_mo;             /* index of the last MO created, -1: none */
	uint32_t mo_answered, mo_ok, mo_lost;   /* MOs (not receipts), kept as they change */
	uint32_t queue[SMSCSIM_DEQUE_CAP];
	uint32_t qhead, qlen;
	uint8_t next_ref;

	/* MTs */
	struct smscsim_mt *mts;
	uint32_t nmts, mts_cap;
	int mts_full_warned;
	uint64_t next_message_id;
	struct smscsim_reasm reasm[SMSCSIM_REASM_SLOTS];

	/* misbehaviour knobs (script commands mt_resp and bind_resp) */
	uint32_t mt_resp_status;     /* status for the next submit_sm */
	int mt_resp_none;            /* do not answer submit_sm */
	long mt_resp_count;          /* how many more get it; -1: until changed */
	uint32_t bind_resp_status;
	long bind_resp_count;
	/* the misbehaving SMSC (script commands; see docs/smscsim.md) */
	long drop_mt_left;           /* drop at the Nth next submit_sm; 0: off */
	enum smscsim_drop_mt drop_mt_mode;
	long drop_mo_left;           /* drop after the Nth next deliver_sm; 0: off */
	int64_t throttle_until_ms;
	uint32_t throttle_status;
	int mt_delay_ms;
	int silent;                  /* answer nothing, send nothing */

	/* duplicates: (to, text) of every MT kept, an open-addressing set of mts indices + 1 */
	uint32_t *dup_set;
	uint32_t dup_cap;
	uint32_t ndups;
	/* what the closes cost: drops we made, other closes, submit_sm outstanding at them */
	uint32_t ndrops, ncloses, outstanding_at_closes;

	struct smscsim_script *script;
	struct smscsim_console *console;
	struct smscsim_load *load;   /* load mode: takes MOs and MTs away from mo.c / mt.c */
	int exit_code;
	int stopping;
};

/* ---- sim.c ---------------------------------------------------------------- */
/* Creates the simulator and starts listening; NULL with *cause (malloc'd) on error. */
struct smscsim *smscsim_new(struct event_base *base, const struct smscsim_options *opt,
    char **cause);
void smscsim_free(struct smscsim *sim);                /* NULL ok */
/* Ends the loop with an exit code (the first call wins). */
void smscsim_stop(struct smscsim *sim, int code);
/* The bound connection that receives MOs (transceiver or receiver), or NULL. */
struct smscsim_conn *smscsim_receiver(struct smscsim *sim);
int smscsim_bound_count(const struct smscsim *sim);
int smscsim_conn_count(const struct smscsim *sim);
/* "ESME_ROK", "0x00000064" or "100" -> status. 0 or -1. */
int smscsim_status_parse(const char *s, uint32_t *status);
const char *smscsim_bind_name(enum smscsim_bind b);

/* Hooks: the core tells the front end (console or script) what happened. */
void smscsim_on_bound(struct smscsim *sim, struct smscsim_conn *c);
void smscsim_on_bind_rejected(struct smscsim *sim, struct smscsim_conn *c, const char *system_id,
    uint32_t status);
void smscsim_on_unbound(struct smscsim *sim, struct smscsim_conn *c);
void smscsim_on_closed(struct smscsim *sim, struct smscsim_conn *c, int was_bound, const char *why);
void smscsim_on_mt(struct smscsim *sim, struct smscsim_mt *mt);
void smscsim_on_mo_sent(struct smscsim *sim, struct smscsim_mo *mo, uint32_t seq);
void smscsim_on_mo_resp(struct smscsim *sim, struct smscsim_mo *mo);
/* Something changed that a waiting script command may be waiting for. */
void smscsim_on_progress(struct smscsim *sim);

/* ---- conn.c ---------------------------------------------------------------- */
/* Takes ownership of fd. NULL (fd closed) when all slots are used. */
struct smscsim_conn *smscsim_conn_new(struct smscsim *sim, int fd, const char *peer);
/* Closes at once, output discarded; unanswered deliver_sm go back to the queue (or are
 * lost with --no-redeliver). why is printed. */
void smscsim_conn_free(struct smscsim_conn *c, const char *why);
/* Sends len bytes as they are. */
void smscsim_conn_send_raw(struct smscsim_conn *c, const void *buf, size_t len);
uint32_t smscsim_conn_next_seq(struct smscsim_conn *c);
/* A drop: stops reading and sending, lets what is already written go (a second at
 * most), then closes without unbind. DROPPED and OUTSTANDING lines tell what the ESME
 * was still waiting for. Safe from any callback: the close happens later. */
void smscsim_conn_drop(struct smscsim_conn *c);
/* Silence ended: answer the delayed submit_sm that fell due meanwhile. */
void smscsim_conn_wake(struct smscsim_conn *c);
/* Sends unbind; the connection closes when unbind_resp comes. */
void smscsim_conn_unbind(struct smscsim_conn *c);
/* Writes what is still buffered, without blocking (best effort before exit). */
void smscsim_conn_flush(struct smscsim_conn *c);

/* ---- mo.c ------------------------------------------------------------------- */
/* Creates an MO from UTF-8 text with data coding dc (-1: GSM 03.38 if it fits, else
 * UCS-2) and queues it. Returns its record index, or -1 with *cause (static text). */
int64_t smscsim_mo_submit(struct smscsim *sim, const char *from, const char *text, int dc,
    int quiet, const char **cause);
/* Queues a delivery receipt for an accepted MT part. */
void smscsim_mo_receipt(struct smscsim *sim, const char *phone, const char *shortcode,
    const char *message_id);
/* Sends queued parts while a receiver is bound and its window has room. */
void smscsim_mo_pump(struct smscsim *sim);
/* A deliver_sm_resp came on c. */
void smscsim_mo_resp(struct smscsim *sim, struct smscsim_conn *c, uint32_t seq, uint32_t status);
/* c is going away: its unanswered parts are queued again or lost. */
void smscsim_mo_conn_lost(struct smscsim *sim, struct smscsim_conn *c);
/* MOs sent (not receipts) and how many are answered. */
void smscsim_mo_counts(const struct smscsim *sim, uint32_t *total, uint32_t *answered,
    uint32_t *ok);
uint32_t smscsim_mo_queue_len(const struct smscsim *sim);
/* The TON/NPI a real SMSC gives addr: 1/1 for a full MSISDN, 0/1 for a short code. */
void smscsim_mo_ton_npi(const char *addr, uint8_t *ton, uint8_t *npi);
void smscsim_mo_free_all(struct smscsim *sim);

/* ---- mt.c ------------------------------------------------------------------- */
struct smpp_pdu;
/* Takes one accepted submit_sm; records a whole MT when it is complete (and tells
 * whether the same text already went to the same number: a duplicate). */
void smscsim_mt_take(struct smscsim *sim, const struct smpp_pdu *p);
void smscsim_mt_free_all(struct smscsim *sim);

/* ---- text.c ----------------------------------------------------------------- */
/* Encodes UTF-8 with data coding dc (0, 1, 3, 8; -1: 0 if it fits, else 8). Returns the
 * length, or -1 with *cause. *dc_out gets the coding used. */
int smscsim_text_encode(const char *utf8, int dc, uint8_t *out, size_t cap, uint8_t *dc_out,
    const char **cause);
/* Backslash-escapes \, newline, CR, tab and other control bytes. Caller frees. */
char *smscsim_text_escape(const char *s);
/* Undoes \n \t \r \\ \xHH in place. -1 on a bad escape. */
int smscsim_text_unescape(char *s);
/* Where a part may end: not inside a GSM escape or a UTF-16 surrogate pair. */
size_t smscsim_text_cut(uint8_t dc, const uint8_t *body, size_t len, size_t max);

/* The number template of burst and load texts: one %d or %0Nd (N <= 20), %% for '%'.
 * *prefix and *suffix are malloc'd. 0, or -1 on a bad template. */
int smscsim_text_template(const char *tpl, char **prefix, char **suffix, int *width,
    int *has_number);

/* ---- input.c ---------------------------------------------------------------- */
/* Lines from fd (a pipe or terminal through the loop, a regular file read as needed).
 * cb runs when new bytes or EOF arrived. */
struct smscsim_input *smscsim_input_new(struct event_base *base, int fd,
    void (*cb)(void *), void *arg);
void smscsim_input_free(struct smscsim_input *in);     /* NULL ok; fd not closed */
/* 1 and *line (malloc'd, no newline) when a line is ready, 0 when more input is
 * needed, -1 at EOF, -2 when a line is longer than SMSCSIM_LINE_MAX. */
int smscsim_input_line(struct smscsim_input *in, char **line);
int smscsim_input_is_file(const struct smscsim_input *in);

/* ---- load.c ------------------------------------------------------------------ */
struct smscsim_load_options {
	long count;                  /* N messages */
	uint64_t first;              /* first sender MSISDN (12 digits) */
	uint32_t senders;            /* K */
	double rate;                 /* messages a second; 0: closed loop */
	int window;                  /* closed loop: messages awaiting their reply */
	const char *text;            /* template (smscsim_text_template) */
	double reply_timeout_s;      /* after the last send (or the start) */
	int progress;                /* LOAD_PROGRESS each second */
};
#define SMSCSIM_LOAD_MAX_COUNT   100000000L
#define SMSCSIM_LOAD_MAX_SENDERS 1000000u
/* Starts load mode on sim (sim->load); NULL with *cause (static text) on a bad option. */
struct smscsim_load *smscsim_load_new(struct smscsim *sim, const struct smscsim_load_options *o,
    const char **cause);
void smscsim_load_free(struct smscsim_load *l);        /* NULL ok */
/* Prints the LOAD line now (a signal) and ends the loop. */
void smscsim_load_abort(struct smscsim_load *l);
void smscsim_load_bound(struct smscsim_load *l, struct smscsim_conn *c);
void smscsim_load_closed(struct smscsim_load *l, struct smscsim_conn *c);
/* A deliver_sm_resp (or generic_nack) with sequence seq on c. */
void smscsim_load_mo_resp(struct smscsim_load *l, uint32_t seq, uint32_t status);
/* A submit_sm from a bound transmitter: answered at once, matched to its sender. */
void smscsim_load_mt(struct smscsim_load *l, struct smscsim_conn *c, const struct smpp_pdu *p);

/* ---- script.c / console.c ---------------------------------------------------- */
struct smscsim_script *smscsim_script_new(struct smscsim *sim, const char *path, char **cause);
void smscsim_script_free(struct smscsim_script *s);
void smscsim_script_poke(struct smscsim_script *s);
void smscsim_script_event(struct smscsim_script *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct smscsim_console *smscsim_console_new(struct smscsim *sim, const char *from);
void smscsim_console_free(struct smscsim_console *c);
void smscsim_console_status(struct smscsim_console *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void smscsim_console_mt(struct smscsim_console *c, const struct smscsim_mt *mt);
void smscsim_console_mo_resp(struct smscsim_console *c, const struct smscsim_mo *mo);

#endif
