/* hap.h - HAP pairing, transport-free, for both sides.
 *
 * Pair-setup (M1-M6: SRP-6a with the PIN, then an exchange of long-term
 * Ed25519 keys) and pair-verify (M1-M4: X25519 plus signatures with those
 * keys), as MRP, Companion and AirPlay 2 use them.  Each side is an opaque
 * state machine: feed it the peer's message (TLV8 bytes, as carried by the
 * transport) and it writes the next message to send.  The controller side
 * (atv-pair, atv-send) and the accessory side (the fake Apple TV) live
 * together so each is tested against the other.
 *
 * Every proof and signature is checked: the accessory's SRP proof (setup
 * M4), its signatures in setup M6 and verify M2, and on the accessory side
 * the controller's signatures (setup M5, verify M3).
 *
 * Then the framed session cipher (ChaCha20-Poly1305 with per-direction
 * message counters) for the encrypted connection. */
#ifndef ATV_HAP_H
#define ATV_HAP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"

#define ATV_HAP_ID_MAX 64  /* bytes in a pairing identifier (a UUID is 36) */
#define ATV_HAP_PIN_MAX 32 /* characters in a PIN */
/* room for "ltpk:ltsk:atv_id:client_id" in hex and the NUL */
#define ATV_HAP_CREDS_STRLEN (2 * 32 + 2 * 32 + 4 * ATV_HAP_ID_MAX + 4)
/* a good out->max for the step functions (messages are < 1 KiB) */
#define ATV_HAP_MSG_MAX 4096

/* Session key derivation strings (HKDF salt, info) on the pair-verify
 * secret; "write" is the controller-to-accessory direction. */
#define ATV_HAP_MRP_SALT "MediaRemote-Salt"
#define ATV_HAP_MRP_WRITE "MediaRemote-Write-Encryption-Key"
#define ATV_HAP_MRP_READ "MediaRemote-Read-Encryption-Key"

/* What a step function returns besides a negative ATV_E_* */
enum atv_hap_step {
	ATV_HAP_CONTINUE = 0, /* send out, then feed the peer's answer */
	ATV_HAP_DONE = 1      /* finished; send out if it is not empty */
};

/* HAP credentials, pyatv's "ltpk:ltsk:atv_id:client_id" (all hex). */
struct atv_hap_creds {
	uint8_t ltpk[ATV_ED25519_PUB_LEN];  /* the device's long-term public key */
	uint8_t ltsk[ATV_ED25519_SEED_LEN]; /* our long-term Ed25519 seed: secret */
	uint8_t atv_id[ATV_HAP_ID_MAX];	    /* the device's pairing identifier */
	size_t atv_id_len;
	uint8_t client_id[ATV_HAP_ID_MAX]; /* ours (ASCII, e.g. a UUID) */
	size_t client_id_len;
};

/* Parse the string form (hex in either case).  -ATV_E_INPUT, naming the
 * bad field but never showing the secret, when it is not four fields with
 * 32-byte keys and 1..ATV_HAP_ID_MAX byte identifiers.  Wipe c after use. */
int atv_hap_creds_parse(const char *s, struct atv_hap_creds *c, struct atv_err *err);

/* Write the string form (lower-case hex) to out, which has size bytes
 * (ATV_HAP_CREDS_STRLEN is always enough).  -ATV_E_USAGE if it is not. */
int atv_hap_creds_format(const struct atv_hap_creds *c, char *out, size_t size,
			 struct atv_err *err);

/* OPENSSL_cleanse the whole struct. */
void atv_hap_creds_wipe(struct atv_hap_creds *c);

/* An accessory's refusal {State state, Error code[, BackOff seconds]} into
 * out (reset first), for a fake device that plays busy, max peers or
 * backoff (code ATV_TLV8_ERR_*; backoff is sent when non-zero). */
int atv_hap_error_message(struct atv_buf *out, uint8_t state, uint8_t code, uint16_t backoff,
			  struct atv_err *err);

/* A peer's long-term identity, as the accessory side stores a controller. */
struct atv_hap_peer {
	uint8_t id[ATV_HAP_ID_MAX];
	size_t idlen;
	uint8_t ltpk[ATV_ED25519_PUB_LEN];
};

/*
 * Pair-setup.  Messages: M1 {Method 0, State 1} -> M2 {State 2, Salt,
 * PublicKey B} -> M3 {State 3, PublicKey A, Proof M1} -> M4 {State 4,
 * Proof M2} -> M5 {State 5, EncryptedData} -> M6 {State 6, EncryptedData}.
 */
struct atv_hap_setup;

/* A controller pairing with pin (the digits the device shows) under our
 * pairing identifier pairing_id (e.g. an upper-case UUID).  seed is our
 * long-term Ed25519 seed, or NULL to make a new one.  Copies everything.
 * NULL on failure (err set).  Free with atv_hap_setup_free. */
struct atv_hap_setup *atv_hap_setup_client_new(const char *pin, const char *pairing_id,
					       const uint8_t *seed, struct atv_err *err);

/* An accessory expecting pin, with its pairing identifier and long-term
 * Ed25519 seed (required).  Copies everything.  NULL on failure. */
struct atv_hap_setup *atv_hap_setup_server_new(const char *pin, const char *accessory_id,
					       const uint8_t seed[ATV_ED25519_SEED_LEN],
					       struct atv_err *err);

/* Add a Name item (0x11) holding name[0..len) to the identity we seal:
 * M5 on the controller, M6 on the accessory.  Companion pairing carries
 * OPACK {"name": ...} there (pyatv hap_srp.step3).  Copied; len at most
 * 512 bytes (-ATV_E_LIMIT). */
int atv_hap_setup_set_name(struct atv_hap_setup *h, const uint8_t *name, size_t len,
			   struct atv_err *err);

/* After the peer's sealed identity was opened (M5 on the accessory, M6 on
 * the controller): its Name item and *len, or NULL when it sent none.
 * Valid until free. */
const uint8_t *atv_hap_setup_peer_name(const struct atv_hap_setup *h, size_t *len);

/* For pairers whose M1 goes out before the PIN is known (the device shows
 * it in answer): the device's answer m2 as a refusal, if it is one.  0,
 * -ATV_E_REFUSED "DEVICE refused pairing: busy" (an Error item), or
 * -ATV_E_PROTO for a malformed message. */
int atv_hap_setup_m2_check(const uint8_t *m2, size_t len, const char *device, struct atv_err *err);

/* Send msg and put the device's answer into reply (reset first): one
 * round of a transport. */
typedef int (*atv_hap_exchange_fn)(void *ctx, const struct atv_buf *msg, struct atv_buf *reply,
				   struct atv_err *err);

/* The rest of a controller's pair-setup once M1 was sent and m2 came back:
 * with the PIN, M3 to M6 through exchange(ctx, ...), and the credential
 * string in pyatv's format (*credentials: the caller wipes and frees it).
 * pairing_id is ours; name (may be NULL) goes into M5 (Companion).
 * -ATV_E_AUTH "DEVICE: wrong pin ..." and the errors of the steps, each
 * message naming device. */
int atv_hap_setup_finish(const char *pin, const char *pairing_id, const struct atv_buf *name,
			 const struct atv_buf *m2, atv_hap_exchange_fn exchange, void *ctx,
			 const char *device, char **credentials, struct atv_err *err);

/* One step.  in is the peer's message (the controller's first step takes
 * none: in NULL, inlen 0).  out (caller-owned, initialised; max at least
 * ATV_HAP_MSG_MAX) is reset and receives our next message.  Returns
 * ATV_HAP_CONTINUE, ATV_HAP_DONE, or a negative code:
 *   -ATV_E_AUTH      wrong PIN ("wrong pin ..."), a proof or signature that
 *                    does not verify, the device's Authentication error;
 *   -ATV_E_REFUSED   the device's other errors (backoff, max peers, busy...);
 *   -ATV_E_PROTO     malformed or unexpected message, -ATV_E_LIMIT, _NOMEM;
 *   -ATV_E_USAGE     a step after the exchange ended or failed.
 * On failure the accessory side leaves an error message for the peer in
 * out (send it if out->len > 0); the context is then dead. */
int atv_hap_setup_step(struct atv_hap_setup *h, const uint8_t *in, size_t inlen,
		       struct atv_buf *out, struct atv_err *err);

/* After ATV_HAP_DONE on the controller: the credentials to store (secret:
 * wipe c after use).  -ATV_E_USAGE before, and after a transient one. */
int atv_hap_setup_client_creds(const struct atv_hap_setup *h, struct atv_hap_creds *c,
			       struct atv_err *err);

/* The same as a new string in pyatv's format (the caller wipes and frees
 * it), as atv-pair stores it. */
int atv_hap_setup_client_creds_string(const struct atv_hap_setup *h, char **out,
				      struct atv_err *err);

/* After ATV_HAP_DONE on the accessory: the controller that paired
 * (-ATV_E_USAGE after a transient exchange: it sent no identity). */
int atv_hap_setup_server_peer(const struct atv_hap_setup *h, struct atv_hap_peer *p,
			      struct atv_err *err);

/* The SRP session key K (ATV_SRP_KEY_LEN bytes) once the peer's SRP proof
 * verified (controller: after M4, accessory: after M3), else NULL.  Valid
 * until free; transient pairing derives its session keys from it. */
const uint8_t *atv_hap_setup_srp_key(const struct atv_hap_setup *h);

/*
 * Transient pair-setup (AirPlay 2 speakers, HomePods): M1 also carries
 * Flags (0x13) = 0x10, the PIN is always ATV_HAP_TRANSIENT_PIN, and the
 * exchange ends after M4: no long-term keys are exchanged, both sides take
 * their session keys from the SRP session key K instead
 * (atv_hap_setup_cipher).
 */
#define ATV_HAP_TRANSIENT_PIN	      "3939"
#define ATV_HAP_SETUP_ALLOW_TRANSIENT 0x1u /* atv_hap_setup_server_new_flags */

/* A controller doing transient pair-setup: its first step sends M1
 * {Method 0, State 1, Flags 0x10}, the step that takes M4 returns
 * ATV_HAP_DONE (with an empty out) once the device's proof verified.
 * There are no credentials afterwards.  NULL on failure. */
struct atv_hap_setup *atv_hap_setup_client_new_transient(struct atv_err *err);

/* As atv_hap_setup_server_new; with ATV_HAP_SETUP_ALLOW_TRANSIENT in flags
 * a transient M1 is accepted: the PIN is then ATV_HAP_TRANSIENT_PIN
 * whatever pin says, and the step that answers M3 with M4 returns
 * ATV_HAP_DONE.  Without it a transient M1 is refused (Error Unknown), as
 * atv_hap_setup_server_new does. */
struct atv_hap_setup *atv_hap_setup_server_new_flags(const char *pin, const char *accessory_id,
						     const uint8_t seed[ATV_ED25519_SEED_LEN],
						     unsigned flags, struct atv_err *err);

/* 1 when the exchange is transient (the controller made with
 * atv_hap_setup_client_new_transient; the accessory once it accepted a
 * transient M1), else 0. */
int atv_hap_setup_transient(const struct atv_hap_setup *h);

/* Free h (secrets wiped); NULL is fine. */
void atv_hap_setup_free(struct atv_hap_setup *h);

/*
 * Pair-verify.  Messages: M1 {State 1, PublicKey} -> M2 {State 2,
 * PublicKey, EncryptedData} -> M3 {State 3, EncryptedData} -> M4 {State 4}.
 */
struct atv_hap_verify;

/* The accessory side's store of paired controllers: fill ltpk and return 0
 * when the controller id[0..idlen) is known, else return a negative value. */
typedef int (*atv_hap_lookup_fn)(void *arg, const uint8_t *id, size_t idlen,
				 uint8_t ltpk[ATV_ED25519_PUB_LEN]);

/* A controller with stored credentials (copied).  NULL on failure. */
struct atv_hap_verify *atv_hap_verify_client_new(const struct atv_hap_creds *c,
						 struct atv_err *err);

/* An accessory with its identity; lookup(arg, ...) finds controllers. */
struct atv_hap_verify *atv_hap_verify_server_new(const char *accessory_id,
						 const uint8_t seed[ATV_ED25519_SEED_LEN],
						 atv_hap_lookup_fn lookup, void *arg,
						 struct atv_err *err);

/* One step, as atv_hap_setup_step.  An unknown controller or a bad
 * signature is -ATV_E_AUTH (the accessory side answers M4 with an
 * Authentication error). */
int atv_hap_verify_step(struct atv_hap_verify *v, const uint8_t *in, size_t inlen,
			struct atv_buf *out, struct atv_err *err);

/* After ATV_HAP_DONE: the X25519 shared secret (ATV_X25519_LEN bytes,
 * valid until free), else NULL. */
const uint8_t *atv_hap_verify_shared(const struct atv_hap_verify *v);

/* After ATV_HAP_DONE: key = HKDF-SHA512(shared, salt, info), 32 bytes. */
int atv_hap_verify_derive(const struct atv_hap_verify *v, const char *salt, const char *info,
			  uint8_t key[ATV_AEAD_KEY_LEN], struct atv_err *err);

/* After ATV_HAP_DONE on the accessory: which controller it was. */
int atv_hap_verify_server_peer(const struct atv_hap_verify *v, struct atv_hap_peer *p,
			       struct atv_err *err);

void atv_hap_verify_free(struct atv_hap_verify *v);

/*
 * The session cipher: ChaCha20-Poly1305, a 12-byte nonce of 4 zero bytes
 * and a 64-bit little-endian counter, one counter per direction starting
 * at 0 and incremented per sealed message or block.
 */
#define ATV_HAP_BLOCK_MAX 1024 /* plaintext per block we send */

struct atv_hap_cipher {
	uint8_t out_key[ATV_AEAD_KEY_LEN];
	uint8_t in_key[ATV_AEAD_KEY_LEN];
	uint64_t out_ctr, in_ctr;
};

/* Start both directions at counter 0 (keys copied). */
void atv_hap_cipher_init(struct atv_hap_cipher *c, const uint8_t out_key[ATV_AEAD_KEY_LEN],
			 const uint8_t in_key[ATV_AEAD_KEY_LEN]);

/* Set up c from a finished pair-verify: out and in keys from salt and the
 * controller-to-accessory (write_info) and accessory-to-controller
 * (read_info) strings, swapped on the accessory side. */
int atv_hap_verify_cipher(const struct atv_hap_verify *v, const char *salt, const char *write_info,
			  const char *read_info, struct atv_hap_cipher *c, struct atv_err *err);

/* After ATV_HAP_DONE of a transient pair-setup: c's keys are
 * HKDF-SHA512(K, salt, write_info) for the controller-to-accessory
 * direction and HKDF-SHA512(K, salt, read_info) for the other, swapped on
 * the accessory side (as atv_hap_verify_cipher).  -ATV_E_USAGE before, or
 * for an exchange that is not transient. */
int atv_hap_setup_cipher(const struct atv_hap_setup *h, const char *salt, const char *write_info,
			 const char *read_info, struct atv_hap_cipher *c, struct atv_err *err);

/* Wipe the keys. */
void atv_hap_cipher_wipe(struct atv_hap_cipher *c);

/* MRP: one message, no AAD.  seal appends ciphertext and tag (len + 16
 * bytes) to out; open takes ciphertext and tag and appends the plaintext.
 * open: -ATV_E_AUTH on a bad tag (the counter does not advance; drop the
 * connection), -ATV_E_PROTO when shorter than a tag. */
int atv_hap_cipher_seal(struct atv_hap_cipher *c, const uint8_t *pt, size_t len,
			struct atv_buf *out, struct atv_err *err);
int atv_hap_cipher_open(struct atv_hap_cipher *c, const uint8_t *ct, size_t len,
			struct atv_buf *out, struct atv_err *err);

/* HAP/AirPlay channels: blocks of a 2-byte little-endian plaintext length
 * (also the AAD), the ciphertext and a 16-byte tag.  seal_blocks appends
 * len bytes as blocks of at most ATV_HAP_BLOCK_MAX.  open_blocks decodes
 * every complete block at the start of in[0..len) (peers may send blocks up
 * to 65535 bytes), appends the plaintext to out and sets *consumed to the
 * bytes used: keep the rest and call again with more.  On -ATV_E_AUTH,
 * out and *consumed cover the blocks before the bad one. */
int atv_hap_cipher_seal_blocks(struct atv_hap_cipher *c, const uint8_t *pt, size_t len,
			       struct atv_buf *out, struct atv_err *err);
int atv_hap_cipher_open_blocks(struct atv_hap_cipher *c, const uint8_t *in, size_t len,
			       size_t *consumed, struct atv_buf *out, struct atv_err *err);

#endif
