/*
 * limits — every bound on what comes from outside, in one place, each with
 * the reason for its size. Decoders, the mempool, the API and the contracts
 * enforce these; the static assertions at the bottom keep them consistent
 * with each other. Changing one changes what the chain accepts: treat it as
 * a protocol change.
 */
#ifndef MEDCHAIN_LIMITS_H
#define MEDCHAIN_LIMITS_H

/* Chain ids are short human labels ("medchain-demo"); 32 bytes is plenty. */
#define LIM_CHAIN_ID_MAX 32
/* Contract and method names are identifiers like "consent" / "grant". */
#define LIM_NAME_MAX 32
/* Arguments of one call. The largest first-set call is a record anchor
 * with LIM_KEYS_MAX sealed keys (16 * 112 bytes) plus strings. */
#define LIM_ARGS_MAX 8192
/* One encoded transaction: header fields, args and signature. */
#define LIM_TX_BYTES_MAX 9216
/* Short strings in arguments and state: categories, purposes, FHIR types,
 * organization names and kinds. */
#define LIM_STR_MAX 128
/* Opaque byte fields in arguments (reasons' hashes, future extensions). */
#define LIM_BYTES_MAX 1024
/* Readers a record's data key is sealed to in one transaction. */
#define LIM_KEYS_MAX 16
/* A sealed data key: X25519 sealed box of a 32-byte key (32 + 48). */
#define LIM_SEALED_KEY_BYTES 80
/* Ids in one list argument (admins, guardians). */
#define LIM_IDS_MAX 16
/* Fields in one schema (a method's arguments or a state entry). */
#define LIM_FIELDS_MAX 16

/* Transactions in one block: bounds apply time and memory per block. */
#define LIM_BLOCK_TXS_MAX 4096
/* One encoded block including its transactions and commit. */
#define LIM_BLOCK_BYTES_MAX (LIM_BLOCK_TXS_MAX * (LIM_TX_BYTES_MAX + 4) + 65536)
/* Validators in one set; also bounds commit signatures in a block. */
#define LIM_VALIDATORS_MAX 64
/* Consortium members (organizations) admitted through governance. A
 * proposal records each member's vote in one state entry, so the members
 * that can vote must fit in it (see the assertion below). */
#define LIM_MEMBERS_MAX 128

/* State keys are a one-byte table tag followed by ids. */
#define LIM_STATE_KEY_MAX 128
/* One encoded state entry. */
#define LIM_STATE_VALUE_MAX 8192
/* Distinct keys one transaction may write; bounds the undo buffer. */
#define LIM_TX_WRITES_MAX 64

/* Mempool bounds: count and bytes (MEMPOOL_FULL beyond either). */
#define LIM_MEMPOOL_TXS_MAX 65536
#define LIM_MEMPOOL_BYTES_MAX (64u * 1024u * 1024u)

/* HTTP: request bodies carry one hex transaction or a small JSON object. */
#define LIM_HTTP_BODY_MAX (64u * 1024u)
/* Total request header bytes (libmicrohttpd memory limit per connection). */
#define LIM_HTTP_HEADER_MAX (16u * 1024u)
/* JSON nesting depth accepted from clients. */
#define LIM_JSON_DEPTH_MAX 16
/* Items one page of a listing returns. */
#define LIM_PAGE_MAX 100
/* Concurrent HTTP connections per node. */
#define LIM_HTTP_CONNECTIONS_MAX 1024
/* One file of the web portal served by the node: its largest, the
 * cryptographic library, is under 1 MiB. A larger file is not served. */
#define LIM_HTTP_FILE_MAX (4u * 1024u * 1024u)

/* Records (docs/records.md). One record's ciphertext: an ECG of 12 leads at
 * 500 Hz for 10 minutes in FHIR JSON is about 14 MiB; larger studies
 * (imaging) belong in an archive the record points to. An upload is held in
 * memory once, so this also bounds a connection's memory. */
#define LIM_BLOB_BYTES_MAX (16u * 1024u * 1024u)
/* Storage one organization may hold on a node by default (config
 * blob_quota_mb overrides it). */
#define LIM_BLOB_QUOTA_DEFAULT_MB 4096u
/* Organizations a node keeps storage accounts for. */
#define LIM_BLOB_ORGS_MAX 1024u
/* Operator keys a node holds (config operator_key, one per organization it
 * serves as gateway), and other nodes it fetches ciphertext from. */
#define LIM_OPERATORS_MAX 8u
#define LIM_BLOB_SOURCES_MAX 16u
/* Accesses one audit.log_batch transaction records: a burst of reads shares
 * one transaction (docs/records.md). Each entry writes three state keys
 * (the entry and two indexes) plus the shared sequence counter, within
 * LIM_TX_WRITES_MAX. */
#define LIM_AUDIT_BATCH_MAX 20u
/* An emergency access's reason as typed by the practitioner, before it is
 * sealed to the patient (the sealed form adds 48 bytes). */
#define LIM_REASON_MAX 256u
/* Records one records.erase_all transaction erases; a patient with more
 * sends it again until none is left. */
#define LIM_ERASE_BATCH_MAX 256u

/* Signed reads (docs/api.md, "Signed requests"): a request's timestamp may
 * differ from the node's clock by this much either way. Nodes and clients
 * must keep their clocks synchronized (NTP) well within it; a short window
 * bounds how many (key, nonce) pairs the node must remember. */
#define LIM_AUTH_WINDOW_MS 60000u
/* Signed reads a node must sustain, every second, without refusing any. */
#define LIM_AUTH_READS_PER_S 8000u
/* (key, nonce) pairs the replay cache remembers, 24 bytes each (24 MiB,
 * allocated once at server start). A pair is kept until its timestamp
 * leaves the window: at most two windows when a client's clock runs ahead,
 * one window when clocks agree. */
#define LIM_AUTH_REPLAY_MAX 1048576u

/* Peer-to-peer transport between validators (src/p2p, docs/network.md). */
/* The biggest message one node sends another: a block proposal carries a
 * whole block and its envelope (round, proof of lock, signatures). */
#define LIM_P2P_PAYLOAD_MAX (LIM_BLOCK_BYTES_MAX + 65536)
/* The most a frame's length prefix may announce: the type byte, the
 * payload and the cipher's 17 bytes, with room to spare. Checked before a
 * byte of the frame is buffered. */
#define LIM_P2P_FRAME_MAX (LIM_P2P_PAYLOAD_MAX + 64)
/* Outbound bytes one peer may have queued and unwritten when the config
 * says 0: a full proposal and the votes and blocks behind it. A peer that
 * falls further behind is refused new messages (back-pressure). */
#define LIM_P2P_QUEUE_BYTES_DEFAULT (64u * 1024u * 1024u)
/* The most a config may ask for. Broadcasts share one copy of the message,
 * but in the worst case (every peer stalled on different messages) a node
 * holds LIM_VALIDATORS_MAX times this. */
#define LIM_P2P_QUEUE_BYTES_MAX (256u * 1024u * 1024u)
/* Outbound messages one peer may have queued: bounds the bookkeeping when
 * messages are small. */
#define LIM_P2P_QUEUE_FRAMES_MAX 65536u
/* Inbound flood bounds per peer: frames and bytes per second, with a burst
 * of one second's worth. Far above what consensus needs (a proposal and a
 * few votes per validator per round, block sync in whole blocks), so an
 * honest peer never meets them; a peer that does is disconnected. */
#define LIM_P2P_FLOOD_FRAMES_PER_S 20000u
#define LIM_P2P_FLOOD_BYTES_PER_S (256u * 1024u * 1024u)
/* Inbound connections still in their handshake at once. Each holds an
 * ephemeral key and a read buffer before its peer is known. */
#define LIM_P2P_PENDING_MAX (2 * LIM_VALIDATORS_MAX)
/* From TCP connect to an authenticated session. */
#define LIM_P2P_HANDSHAKE_MS 5000u
/* A session that receives nothing, not even the keep-alive each side sends
 * when it has been quiet for a fifth of this, is closed. */
#define LIM_P2P_IDLE_MS 10000u

/* ECG recordings (src/ecg, docs/ecg.md). Leads in one record: the twelve
 * standard leads, the three Frank leads and one spare. */
#define LIM_ECG_LEADS_MAX 16
/* Samples per lead: two minutes at 1 kHz. A resting ECG is 10 s at 500 Hz
 * (5,000); long-term (Holter) recordings are out of scope. */
#define LIM_ECG_SAMPLES_MAX 120000u
/* Samples of all leads together: bounds a decoded record to 2 MiB of
 * 16-bit samples whatever its shape (twelve leads of 60 s at 1 kHz fit). */
#define LIM_ECG_TOTAL_SAMPLES_MAX (1024u * 1024u)
/* Any ECG input file (signal file, CSV, Observation JSON). The largest is
 * an Observation of the most samples at up to 7 characters each
 * ("-32768 ") plus each lead's codes and scaling. */
#define LIM_ECG_FILE_BYTES_MAX (8u * 1024u * 1024u)
/* A WFDB header: a record line, one line per lead and comments. */
#define LIM_ECG_HEADER_BYTES_MAX (64u * 1024u)
/* One line of a WFDB header or CSV file; real headers use under 200. */
#define LIM_ECG_LINE_MAX 1024u
/* Record names, lead names and descriptions, signal file names. */
#define LIM_ECG_NAME_MAX 64
/* Physical units of a lead ("mV", "uV"). */
#define LIM_ECG_UNITS_MAX 16

_Static_assert(3u * LIM_AUDIT_BATCH_MAX + 1u <= LIM_TX_WRITES_MAX,
               "a full audit batch fits one transaction's writes");
/* Appointments (src/contracts/appt.c). Slots one publish call creates: each
 * writes the slot and two index entries, so a call stays well inside
 * LIM_TX_WRITES_MAX (asserted below); 16 is a clinic morning. */
#define LIM_APPT_SLOTS_PER_TX 16
/* Longest slot: a long procedure, not a multi-day admission. */
#define LIM_APPT_SLOT_MS_MAX (12u * 3600u * 1000u)
/* How far ahead slots may be published (block time): bounds the time
 * index a search walks and keeps a typo of a year from publishing. */
#define LIM_APPT_HORIZON_MS (400ull * 24u * 3600u * 1000u)
/* Longest cancellation cut-off an organization may set. */
#define LIM_APPT_CUTOFF_MS_MAX (30ull * 24u * 3600u * 1000u)
/* Index entries one slot or appointment search examines before it answers
 * with a cursor: bounds the work of one API request. */
#define LIM_APPT_SCAN_MAX 4096
/* Widest date range one search may ask for. */
#define LIM_APPT_RANGE_MS_MAX (93ull * 24u * 3600u * 1000u)

_Static_assert(3 * LIM_APPT_SLOTS_PER_TX + 4 <= LIM_TX_WRITES_MAX,
               "one publish call's slots and their index entries fit one transaction's writes");
_Static_assert(LIM_APPT_SLOTS_PER_TX * 16 <= LIM_BYTES_MAX,
               "one publish call's (start, end) pairs fit a bytes argument");
/* EPCIS (src/contracts/supply.c): EPCs one event may name. Each EPC costs
 * a commissioning event three state writes (the package, its history
 * entry, its lot's index entry), and the event and lot two more, so the
 * bound keeps an event within one transaction's LIM_TX_WRITES_MAX. A
 * partner's larger event is split by the partner (the capture endpoint
 * refuses it with OVERSIZE). */
#define LIM_EPCIS_EPCS_MAX 20
/* The space-separated EPC URIs of one event: each at most 96 bytes. */
#define LIM_EPCIS_EPCS_BYTES (LIM_EPCIS_EPCS_MAX * 97)
/* Events in one captured EPCIS document; each becomes one transaction. */
#define LIM_EPCIS_EVENTS_MAX 64
/* Packages a lot-holders query walks: the largest lot medchain answers
 * for in one request. */
#define LIM_LOT_SCAN_MAX 100000
/* Entries of a package's history (its own events and its cases'). */
#define LIM_HISTORY_MAX 256

_Static_assert(3 * LIM_EPCIS_EPCS_MAX + 2 <= LIM_TX_WRITES_MAX,
               "a commissioning event with the most EPCs fits one transaction's writes");
_Static_assert(LIM_EPCIS_EPCS_BYTES + 512 <= LIM_ARGS_MAX, "an event's EPC list fits the args");
_Static_assert(LIM_TX_BYTES_MAX > LIM_ARGS_MAX + 2 * LIM_NAME_MAX + LIM_CHAIN_ID_MAX + 200,
               "a transaction must fit its largest arguments and header fields");
_Static_assert(LIM_ARGS_MAX >= LIM_KEYS_MAX * (32 + LIM_SEALED_KEY_BYTES) + 6 * LIM_STR_MAX,
               "a record anchor with the most keys must fit in the arguments");
_Static_assert(LIM_HTTP_BODY_MAX > 2 * LIM_TX_BYTES_MAX + 1024,
               "an HTTP body must fit one hex-encoded transaction");
_Static_assert(LIM_MEMPOOL_BYTES_MAX >= (unsigned)LIM_BLOCK_TXS_MAX * LIM_TX_BYTES_MAX,
               "the mempool must hold at least one full block");
_Static_assert(LIM_STATE_VALUE_MAX >= LIM_KEYS_MAX * (32 + LIM_SEALED_KEY_BYTES) + 6 * LIM_STR_MAX,
               "state entries must hold a record's keys");
_Static_assert(400 + LIM_MEMBERS_MAX * 32 <= LIM_STATE_VALUE_MAX,
               "a governance proposal must hold every member's vote");
_Static_assert(LIM_AUTH_REPLAY_MAX >= LIM_AUTH_READS_PER_S * 2u * (LIM_AUTH_WINDOW_MS / 1000u),
               "the replay cache must hold every signed read of two windows at the "
               "sustained rate");
_Static_assert(LIM_P2P_FRAME_MAX < 0xffffffffu, "a frame length fits its u32 prefix");
_Static_assert(LIM_P2P_QUEUE_BYTES_DEFAULT >= LIM_P2P_FRAME_MAX &&
                   LIM_P2P_QUEUE_BYTES_DEFAULT <= LIM_P2P_QUEUE_BYTES_MAX,
               "the default outbound queue holds the largest frame and stays under the cap");
_Static_assert(LIM_P2P_FLOOD_BYTES_PER_S >= 4u * LIM_P2P_FRAME_MAX,
               "several of the largest frames a second never count as a flood");
_Static_assert(LIM_ECG_FILE_BYTES_MAX >= 7u * LIM_ECG_TOTAL_SAMPLES_MAX + LIM_ECG_LEADS_MAX * 1024u,
               "an ECG Observation with the most samples must fit the input limit");
_Static_assert(LIM_ECG_TOTAL_SAMPLES_MAX >= 12u * 60u * 1000u,
               "twelve leads of a minute at 1 kHz must fit one record");
_Static_assert(LIM_ECG_HEADER_BYTES_MAX >= (LIM_ECG_LEADS_MAX + 1) * LIM_ECG_LINE_MAX,
               "a WFDB header of the most leads with full lines must fit");

#endif
