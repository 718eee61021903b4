/* hap.c - HAP pair-setup and pair-verify state machines (both sides) and
 * the session cipher.  No sockets: messages in, messages out. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "hap.h"
#include "tlv8.h"
#include "banned.h"

#define SRP_USER "Pair-Setup"

/* HKDF salt/info pairs of pair-setup and pair-verify (HAP spec 5.6, 5.7) */
#define PS_ENC_SALT "Pair-Setup-Encrypt-Salt"
#define PS_ENC_INFO "Pair-Setup-Encrypt-Info"
#define PS_CTRL_SALT "Pair-Setup-Controller-Sign-Salt"
#define PS_CTRL_INFO "Pair-Setup-Controller-Sign-Info"
#define PS_ACC_SALT "Pair-Setup-Accessory-Sign-Salt"
#define PS_ACC_INFO "Pair-Setup-Accessory-Sign-Info"
#define PV_ENC_SALT "Pair-Verify-Encrypt-Salt"
#define PV_ENC_INFO "Pair-Verify-Encrypt-Info"

#define INNER_MAX 1024 /* an encrypted sub-TLV we build: id, key, signature, name */
#define NAME_MAX_LEN 512 /* the Name item (Companion: OPACK {"name": ...}) */
/* what a device signs: 32 bytes (key or HKDF output), an id, 32 bytes */
#define SIGNED_MAX (32 + ATV_HAP_ID_MAX + 32)

/* ---- credentials string ---- */

static int creds_field(const char **s, const char *name, uint8_t *out, size_t min, size_t max,
		       size_t *outlen, int last, struct atv_err *err)
{
	const char *end = last ? *s + strlen(*s) : strchr(*s, ':');

	if (!end || atv_unhex(*s, (size_t)(end - *s), out, max, outlen) < 0 || *outlen < min)
		return atv_err_set(err, ATV_E_INPUT, "bad %s in hap credentials", name);
	*s = last ? end : end + 1;
	return 0;
}

int atv_hap_creds_parse(const char *s, struct atv_hap_creds *c, struct atv_err *err)
{
	size_t n;
	int r;

	memset(c, 0, sizeof *c);
	r = creds_field(&s, "ltpk", c->ltpk, 32, 32, &n, 0, err);
	if (r == 0)
		r = creds_field(&s, "ltsk", c->ltsk, 32, 32, &n, 0, err);
	if (r == 0)
		r = creds_field(&s, "atv_id", c->atv_id, 1, ATV_HAP_ID_MAX, &c->atv_id_len, 0, err);
	if (r == 0)
		r = creds_field(&s, "client_id", c->client_id, 1, ATV_HAP_ID_MAX, &c->client_id_len,
				1, err);
	if (r < 0)
		atv_hap_creds_wipe(c);
	return r;
}

static char *hex(char *p, const uint8_t *v, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		*p++ = digits[v[i] >> 4];
		*p++ = digits[v[i] & 15];
	}
	return p;
}

int atv_hap_creds_format(const struct atv_hap_creds *c, char *out, size_t size, struct atv_err *err)
{
	char *p = out;

	if (c->atv_id_len > ATV_HAP_ID_MAX || c->client_id_len > ATV_HAP_ID_MAX ||
	    size < 2 * (64 + c->atv_id_len + c->client_id_len) + 4)
		return atv_err_set(err, ATV_E_USAGE, "no room for hap credentials");
	p = hex(p, c->ltpk, sizeof c->ltpk);
	*p++ = ':';
	p = hex(p, c->ltsk, sizeof c->ltsk);
	*p++ = ':';
	p = hex(p, c->atv_id, c->atv_id_len);
	*p++ = ':';
	p = hex(p, c->client_id, c->client_id_len);
	*p = '\0';
	return 0;
}

void atv_hap_creds_wipe(struct atv_hap_creds *c)
{
	atv_crypto_wipe(c, sizeof *c);
}

/* ---- message helpers shared by both exchanges ---- */

/* The device's TLV Error item as our error: Authentication is -ATV_E_AUTH
 * with auth_msg, the rest (backoff, max peers, ...) -ATV_E_REFUSED. */
static int peer_error(const struct atv_tlv8 *t, const struct atv_tlv8_item *e, const char *what,
		      const char *auth_msg, struct atv_err *err)
{
	const struct atv_tlv8_item *b = atv_tlv8_find(t, ATV_TLV8_BACKOFF);
	uint64_t code, secs;

	if (atv_tlv8_uint(e, &code, err) < 0)
		return -ATV_E_PROTO;
	if (code == ATV_TLV8_ERR_AUTHENTICATION)
		return atv_err_set(err, ATV_E_AUTH, "%s", auth_msg);
	if (code == ATV_TLV8_ERR_BACKOFF && b && atv_tlv8_uint(b, &secs, NULL) == 0)
		return atv_err_set(err, ATV_E_REFUSED,
				   "%s: device refused: backoff (retry in %llu s)", what,
				   (unsigned long long)secs);
	return atv_err_set(err, ATV_E_REFUSED, "%s: device refused: %s", what,
			   atv_tlv8_error_name(code));
}

/* Decode a message that must carry State want.  On the controller side
 * (auth_msg given) a TLV Error item is the device's verdict: see
 * peer_error.  The accessory side ignores Error items: it only sends them. */
static int recv_msg(struct atv_tlv8 *t, const uint8_t *in, size_t inlen, uint8_t want,
		    const char *what, const char *auth_msg, struct atv_err *err)
{
	const struct atv_tlv8_item *e, *s;
	int r = atv_tlv8_parse(t, in, inlen, err);

	if (r < 0) {
		atv_err_prefix(err, "%s M%u", what, want);
		return r;
	}
	e = atv_tlv8_find(t, ATV_TLV8_ERROR);
	if (e && auth_msg)
		return peer_error(t, e, what, auth_msg, err);
	s = atv_tlv8_find(t, ATV_TLV8_STATE);
	if (!s || s->len != 1 || s->val[0] != want)
		return atv_err_set(err, ATV_E_PROTO, "%s: expected message M%u", what, want);
	return 0;
}

static const char *type_name(uint8_t type)
{
	switch (type) {
	case ATV_TLV8_IDENTIFIER:
		return "identifier";
	case ATV_TLV8_SALT:
		return "salt";
	case ATV_TLV8_PUBLIC_KEY:
		return "public key";
	case ATV_TLV8_PROOF:
		return "proof";
	case ATV_TLV8_SIGNATURE:
		return "signature";
	default:
		return "encrypted data";
	}
}

/* An item that must be exactly len bytes (len 0: any non-empty length). */
static const uint8_t *item(const struct atv_tlv8 *t, uint8_t type, size_t len, size_t *outlen,
			   const char *what, struct atv_err *err)
{
	const struct atv_tlv8_item *it = atv_tlv8_find(t, type);

	if (!it || (len ? it->len != len : it->len == 0)) {
		atv_err_set(err, ATV_E_PROTO, "%s lacks a valid %s", what, type_name(type));
		return NULL;
	}
	if (outlen)
		*outlen = it->len;
	return it->val;
}

static int get_id(const struct atv_tlv8 *t, uint8_t *id, size_t *idlen, const char *what,
		  struct atv_err *err)
{
	const uint8_t *p = item(t, ATV_TLV8_IDENTIFIER, 0, idlen, what, err);

	if (!p)
		return -ATV_E_PROTO;
	if (*idlen > ATV_HAP_ID_MAX)
		return atv_err_set(err, ATV_E_PROTO, "%s: identifier longer than %d bytes", what,
				   ATV_HAP_ID_MAX);
	memcpy(id, p, *idlen);
	return 0;
}

/* What a device signs: a ‖ id ‖ b, a and b 32 bytes each. */
static size_t signed_info(uint8_t out[SIGNED_MAX], const uint8_t *a, const uint8_t *id,
			  size_t idlen, const uint8_t *b)
{
	memcpy(out, a, 32);
	memcpy(out + 32, id, idlen);
	memcpy(out + 32 + idlen, b, 32);
	return 64 + idlen;
}

/* Append EncryptedData = seal(key, label, {Identifier, [PublicKey],
 * Signature, [Name]}) to out. */
static int seal_inner(const uint8_t *key, const char *label, const uint8_t *id, size_t idlen,
		      const uint8_t *pub, const uint8_t *sig, const struct atv_buf *name,
		      struct atv_buf *out, struct atv_err *err)
{
	uint8_t nonce[ATV_AEAD_NONCE_LEN];
	struct atv_buf in;
	int r;

	atv_buf_init(&in, INNER_MAX);
	r = atv_tlv8_add(&in, ATV_TLV8_IDENTIFIER, id, idlen, err);
	if (r == 0 && pub)
		r = atv_tlv8_add(&in, ATV_TLV8_PUBLIC_KEY, pub, ATV_ED25519_PUB_LEN, err);
	if (r == 0)
		r = atv_tlv8_add(&in, ATV_TLV8_SIGNATURE, sig, ATV_ED25519_SIG_LEN, err);
	if (r == 0 && name && name->len)
		r = atv_tlv8_add(&in, ATV_TLV8_NAME, name->data, name->len, err);
	if (r == 0)
		r = atv_buf_append(&in, NULL, ATV_AEAD_TAG_LEN, err);
	if (r < 0)
		goto out;
	atv_nonce_label(nonce, label);
	r = atv_aead_seal(key, nonce, NULL, 0, in.data, in.len - ATV_AEAD_TAG_LEN, in.data, err);
	if (r == 0)
		r = atv_tlv8_add(out, ATV_TLV8_ENCRYPTED_DATA, in.data, in.len, err);
out:
	atv_buf_release(&in);
	return r;
}

/* Decrypt the EncryptedData of outer with key and label and decode it. */
static int open_inner(const uint8_t *key, const char *label, const struct atv_tlv8 *outer,
		      struct atv_tlv8 *inner, const char *what, struct atv_err *err)
{
	uint8_t nonce[ATV_AEAD_NONCE_LEN], *pt;
	size_t len;
	const uint8_t *ct = item(outer, ATV_TLV8_ENCRYPTED_DATA, 0, &len, what, err);
	int r;

	inner->n = 0;
	inner->data = NULL;
	inner->size = 0;
	if (!ct)
		return -ATV_E_PROTO;
	pt = malloc(len);
	if (!pt)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	atv_nonce_label(nonce, label);
	r = atv_aead_open(key, nonce, NULL, 0, ct, len, pt, err);
	if (r == 0)
		r = atv_tlv8_parse(inner, pt, len - ATV_AEAD_TAG_LEN, err);
	if (r < 0)
		atv_err_prefix(err, "%s", what);
	atv_crypto_wipe(pt, len);
	free(pt);
	return r;
}

int atv_hap_error_message(struct atv_buf *out, uint8_t state, uint8_t code, uint16_t backoff,
			  struct atv_err *err)
{
	uint8_t secs[2];
	int r;

	atv_buf_reset(out);
	atv_put_le16(secs, backoff); /* HAP integers are little-endian */
	r = atv_tlv8_add_u8(out, ATV_TLV8_STATE, state, err);
	if (r == 0)
		r = atv_tlv8_add_u8(out, ATV_TLV8_ERROR, code, err);
	if (r == 0 && backoff)
		r = atv_tlv8_add(out, ATV_TLV8_BACKOFF, secs, backoff > 255 ? 2 : 1, err);
	if (r < 0)
		atv_buf_reset(out);
	return r;
}

/* The accessory's answer to a failed request: {State, Error}. */
static int error_reply(struct atv_buf *out, uint8_t state, int r)
{
	uint8_t code = r == -ATV_E_AUTH ? ATV_TLV8_ERR_AUTHENTICATION : ATV_TLV8_ERR_UNKNOWN;

	atv_hap_error_message(out, state, code, 0, NULL);
	return r;
}

static int check_id(const char *id, const char *what, struct atv_err *err)
{
	size_t n = strlen(id);

	if (n == 0 || n > ATV_HAP_ID_MAX)
		return atv_err_set(err, ATV_E_USAGE, "%s must be 1 to %d bytes", what,
				   ATV_HAP_ID_MAX);
	return 0;
}

/* ---- pair-setup ---- */

struct atv_hap_setup {
	int server;
	int next;   /* message number expected next (0: the controller's M1) */
	int failed; /* an error ended the exchange */
	int done;
	unsigned flags; /* accessory: ATV_HAP_SETUP_* */
	int transient;	/* Flags 0x10: PIN 3939, over after M4, no identities */
	char pin[ATV_HAP_PIN_MAX + 1];
	uint8_t id[ATV_HAP_ID_MAX]; /* our pairing identifier */
	size_t idlen;
	uint8_t seed[ATV_ED25519_SEED_LEN], pub[ATV_ED25519_PUB_LEN]; /* our long-term keys */
	struct atv_srp_client *srpc;
	struct atv_srp_server *srps;
	uint8_t key[ATV_SRP_KEY_LEN]; /* SRP K once the peer's proof verified */
	int have_key;
	uint8_t enc[ATV_AEAD_KEY_LEN]; /* the M5/M6 encryption key */
	struct atv_hap_peer peer;      /* the other side's long-term identity */
	struct atv_buf name;	       /* Name item of our M5/M6 (Companion), or empty */
	struct atv_buf peer_name;      /* the peer's, or empty */
};

static struct atv_hap_setup *setup_new(int server, const char *pin, const char *id,
				       const uint8_t *seed, struct atv_err *err)
{
	struct atv_hap_setup *h;
	size_t pinlen = strlen(pin);
	int r;

	if (pinlen == 0 || pinlen > ATV_HAP_PIN_MAX) {
		atv_err_set(err, ATV_E_USAGE, "pin must be 1 to %d characters", ATV_HAP_PIN_MAX);
		return NULL;
	}
	if (check_id(id, "pairing identifier", err) < 0)
		return NULL;
	h = calloc(1, sizeof *h);
	if (!h) {
		atv_err_set(err, ATV_E_NOMEM, "out of memory");
		return NULL;
	}
	h->server = server;
	h->next = server ? 1 : 0;
	atv_buf_init(&h->name, NAME_MAX_LEN);
	atv_buf_init(&h->peer_name, NAME_MAX_LEN);
	memcpy(h->pin, pin, pinlen + 1);
	h->idlen = strlen(id);
	memcpy(h->id, id, h->idlen);
	if (seed) {
		memcpy(h->seed, seed, sizeof h->seed);
		r = atv_ed25519_pub(h->seed, h->pub, err);
	} else {
		r = atv_ed25519_keygen(h->seed, h->pub, err);
	}
	if (r < 0) {
		atv_hap_setup_free(h);
		return NULL;
	}
	return h;
}

struct atv_hap_setup *atv_hap_setup_client_new(const char *pin, const char *pairing_id,
					       const uint8_t *seed, struct atv_err *err)
{
	return setup_new(0, pin, pairing_id, seed, err);
}

struct atv_hap_setup *atv_hap_setup_server_new(const char *pin, const char *accessory_id,
					       const uint8_t seed[ATV_ED25519_SEED_LEN],
					       struct atv_err *err)
{
	return atv_hap_setup_server_new_flags(pin, accessory_id, seed, 0, err);
}

struct atv_hap_setup *atv_hap_setup_server_new_flags(const char *pin, const char *accessory_id,
						     const uint8_t seed[ATV_ED25519_SEED_LEN],
						     unsigned flags, struct atv_err *err)
{
	struct atv_hap_setup *h;

	if (!seed) {
		atv_err_set(err, ATV_E_USAGE, "an accessory needs its long-term key");
		return NULL;
	}
	h = setup_new(1, pin, accessory_id, seed, err);
	if (h)
		h->flags = flags;
	return h;
}

/* The controller of a transient exchange has no long-term identity to
 * send: the id only fills the field setup_new insists on. */
struct atv_hap_setup *atv_hap_setup_client_new_transient(struct atv_err *err)
{
	struct atv_hap_setup *h = setup_new(0, ATV_HAP_TRANSIENT_PIN, "transient", NULL, err);

	if (h)
		h->transient = 1;
	return h;
}

int atv_hap_setup_set_name(struct atv_hap_setup *h, const uint8_t *name, size_t len,
			   struct atv_err *err)
{
	atv_buf_reset(&h->name);
	return atv_buf_append(&h->name, name, len, err);
}

const uint8_t *atv_hap_setup_peer_name(const struct atv_hap_setup *h, size_t *len)
{
	*len = h->peer_name.len;
	return h->peer_name.len ? h->peer_name.data : NULL;
}

int atv_hap_setup_transient(const struct atv_hap_setup *h)
{
	return h->transient;
}

/* K is trusted (the peer proved it knows the PIN): keep it and derive the
 * M5/M6 encryption key from it. */
static int setup_have_key(struct atv_hap_setup *h, const uint8_t *k, struct atv_err *err)
{
	memcpy(h->key, k, sizeof h->key);
	h->have_key = 1;
	return atv_hkdf(h->key, sizeof h->key, PS_ENC_SALT, PS_ENC_INFO, h->enc, err);
}

/* Our signature over HKDF(K, salt, info) ‖ our id ‖ our public key, sealed
 * with our id and key under label into out. */
static int setup_seal_identity(struct atv_hap_setup *h, const char *salt, const char *info,
			       const char *label, struct atv_buf *out, struct atv_err *err)
{
	uint8_t x[32], msg[SIGNED_MAX], sig[ATV_ED25519_SIG_LEN];
	size_t len;
	int r = atv_hkdf(h->key, sizeof h->key, salt, info, x, err);

	if (r == 0) {
		len = signed_info(msg, x, h->id, h->idlen, h->pub);
		r = atv_ed25519_sign(h->seed, msg, len, sig, err);
	}
	if (r == 0)
		r = seal_inner(h->enc, label, h->id, h->idlen, h->pub, sig, &h->name, out, err);
	atv_crypto_wipe(x, sizeof x);
	return r;
}

/* Open the peer's sealed identity and check its signature over
 * HKDF(K, salt, info) ‖ id ‖ public key; keep it in h->peer. */
static int setup_open_identity(struct atv_hap_setup *h, const struct atv_tlv8 *t, const char *salt,
			       const char *info, const char *label, const char *what,
			       struct atv_err *err)
{
	uint8_t x[32], msg[SIGNED_MAX];
	const uint8_t *pub = NULL, *sig = NULL;
	const struct atv_tlv8_item *nm;
	struct atv_tlv8 in;
	size_t len;
	int r = open_inner(h->enc, label, t, &in, what, err);

	if (r == 0)
		r = get_id(&in, h->peer.id, &h->peer.idlen, what, err);
	if (r == 0) {
		pub = item(&in, ATV_TLV8_PUBLIC_KEY, ATV_ED25519_PUB_LEN, NULL, what, err);
		sig = item(&in, ATV_TLV8_SIGNATURE, ATV_ED25519_SIG_LEN, NULL, what, err);
		r = pub && sig ? 0 : -ATV_E_PROTO;
	}
	if (r == 0)
		r = atv_hkdf(h->key, sizeof h->key, salt, info, x, err);
	if (r == 0) {
		len = signed_info(msg, x, h->peer.id, h->peer.idlen, pub);
		r = atv_ed25519_verify(pub, msg, len, sig, err);
		if (r < 0)
			atv_err_prefix(err, "%s: signature does not verify", what);
	}
	if (r == 0)
		memcpy(h->peer.ltpk, pub, sizeof h->peer.ltpk);
	if (r == 0 && (nm = atv_tlv8_find(&in, ATV_TLV8_NAME)) && nm->len <= NAME_MAX_LEN)
		r = atv_buf_append(&h->peer_name, nm->val, nm->len, err);
	atv_crypto_wipe(x, sizeof x);
	atv_tlv8_release(&in);
	return r;
}

static int client_m1(const struct atv_hap_setup *h, size_t inlen, struct atv_buf *out,
		     struct atv_err *err)
{
	int r;

	if (inlen)
		return atv_err_set(err, ATV_E_USAGE, "pair-setup starts without a message");
	r = atv_tlv8_add_u8(out, ATV_TLV8_METHOD, ATV_TLV8_METHOD_PAIR_SETUP, err);
	if (r == 0)
		r = atv_tlv8_add_u8(out, ATV_TLV8_STATE, 1, err);
	if (r == 0 && h->transient)
		r = atv_tlv8_add_u8(out, ATV_TLV8_FLAGS, ATV_TLV8_FLAG_TRANSIENT, err);
	return r;
}

static int client_m2(struct atv_hap_setup *h, const struct atv_tlv8 *t, struct atv_buf *out,
		     struct atv_err *err)
{
	const uint8_t *salt, *b, *a;
	size_t saltlen, blen, alen;
	int r;

	salt = item(t, ATV_TLV8_SALT, 0, &saltlen, "pair-setup M2", err);
	b = salt ? item(t, ATV_TLV8_PUBLIC_KEY, 0, &blen, "pair-setup M2", err) : NULL;
	if (!b)
		return -ATV_E_PROTO;
	h->srpc = atv_srp_client_new(SRP_USER, h->pin, NULL, 0, err);
	if (!h->srpc)
		return -ATV_E_NOMEM;
	r = atv_srp_client_process(h->srpc, salt, saltlen, b, blen, err);
	if (r < 0)
		return r;
	alen = atv_srp_client_public(h->srpc, &a);
	r = atv_tlv8_add_u8(out, ATV_TLV8_STATE, 3, err);
	if (r == 0)
		r = atv_tlv8_add(out, ATV_TLV8_PUBLIC_KEY, a, alen, err);
	if (r == 0)
		r = atv_tlv8_add(out, ATV_TLV8_PROOF, atv_srp_client_proof(h->srpc),
				 ATV_SRP_PROOF_LEN, err);
	return r;
}

static int client_m4(struct atv_hap_setup *h, const struct atv_tlv8 *t, struct atv_buf *out,
		     struct atv_err *err)
{
	size_t len;
	const uint8_t *proof = item(t, ATV_TLV8_PROOF, 0, &len, "pair-setup M4", err);
	int r;

	if (!proof)
		return -ATV_E_PROTO;
	if (atv_srp_client_verify(h->srpc, proof, len, err) < 0)
		return atv_err_set(err, ATV_E_AUTH, "wrong pin: the device's proof does not match");
	r = setup_have_key(h, atv_srp_client_key(h->srpc), err);
	/* transient: K is all we wanted, there is no M5 */
	if (r == 0 && h->transient)
		return 0;
	if (r == 0)
		r = atv_tlv8_add_u8(out, ATV_TLV8_STATE, 5, err);
	if (r == 0)
		r = setup_seal_identity(h, PS_CTRL_SALT, PS_CTRL_INFO, "PS-Msg05", out, err);
	return r;
}

static int client_m6(struct atv_hap_setup *h, const struct atv_tlv8 *t, struct atv_err *err)
{
	return setup_open_identity(h, t, PS_ACC_SALT, PS_ACC_INFO, "PS-Msg06", "pair-setup M6",
				   err);
}

static int client_step(struct atv_hap_setup *h, const uint8_t *in, size_t inlen,
		       struct atv_buf *out, struct atv_err *err)
{
	struct atv_tlv8 t = {0};
	const char *auth = h->next == 4 ? "wrong pin" : "device refused pairing (authentication)";
	int r;

	if (h->next == 0) {
		r = client_m1(h, inlen, out, err);
		h->next = 2;
		return r < 0 ? r : ATV_HAP_CONTINUE;
	}
	r = recv_msg(&t, in, inlen, (uint8_t)h->next, "pair-setup", auth, err);
	if (r == 0)
		r = h->next == 2   ? client_m2(h, &t, out, err)
		    : h->next == 4 ? client_m4(h, &t, out, err)
				   : client_m6(h, &t, err);
	atv_tlv8_release(&t);
	if (r < 0)
		return r;
	h->next += 2;
	h->done = h->next > (h->transient ? 4 : 6);
	return h->done ? ATV_HAP_DONE : ATV_HAP_CONTINUE;
}

static int server_m1(struct atv_hap_setup *h, const struct atv_tlv8 *t, struct atv_buf *out,
		     struct atv_err *err)
{
	const struct atv_tlv8_item *m = atv_tlv8_find(t, ATV_TLV8_METHOD);
	const struct atv_tlv8_item *f = atv_tlv8_find(t, ATV_TLV8_FLAGS);
	const uint8_t *salt, *b;
	size_t saltlen, blen;
	uint64_t v;
	int r;

	if (!m || atv_tlv8_uint(m, &v, NULL) < 0 || v != ATV_TLV8_METHOD_PAIR_SETUP)
		return atv_err_set(err, ATV_E_UNSUPPORTED, "pair-setup M1: unsupported method");
	if (f && atv_tlv8_uint(f, &v, NULL) < 0)
		return atv_err_set(err, ATV_E_UNSUPPORTED, "pair-setup M1: unsupported flags");
	if (f && (v & ATV_TLV8_FLAG_TRANSIENT)) {
		if (!(h->flags & ATV_HAP_SETUP_ALLOW_TRANSIENT))
			return atv_err_set(err, ATV_E_UNSUPPORTED,
					   "pair-setup M1: unsupported flags");
		h->transient = 1;
		memcpy(h->pin, ATV_HAP_TRANSIENT_PIN, sizeof ATV_HAP_TRANSIENT_PIN);
	}
	h->srps = atv_srp_server_new(SRP_USER, h->pin, NULL, 0, NULL, 0, err);
	if (!h->srps)
		return -ATV_E_NOMEM;
	saltlen = atv_srp_server_salt(h->srps, &salt);
	blen = atv_srp_server_public(h->srps, &b);
	r = atv_tlv8_add_u8(out, ATV_TLV8_STATE, 2, err);
	if (r == 0)
		r = atv_tlv8_add(out, ATV_TLV8_SALT, salt, saltlen, err);
	if (r == 0)
		r = atv_tlv8_add(out, ATV_TLV8_PUBLIC_KEY, b, blen, err);
	return r;
}

static int server_m3(struct atv_hap_setup *h, const struct atv_tlv8 *t, struct atv_buf *out,
		     struct atv_err *err)
{
	const uint8_t *a, *proof;
	size_t alen, prooflen;
	int r;

	a = item(t, ATV_TLV8_PUBLIC_KEY, 0, &alen, "pair-setup M3", err);
	proof = a ? item(t, ATV_TLV8_PROOF, 0, &prooflen, "pair-setup M3", err) : NULL;
	if (!proof)
		return -ATV_E_PROTO;
	r = atv_srp_server_verify(h->srps, a, alen, proof, prooflen, err);
	if (r == -ATV_E_AUTH)
		return atv_err_set(err, ATV_E_AUTH, "wrong pin from the controller");
	if (r == 0)
		r = setup_have_key(h, atv_srp_server_key(h->srps), err);
	if (r == 0)
		r = atv_tlv8_add_u8(out, ATV_TLV8_STATE, 4, err);
	if (r == 0)
		r = atv_tlv8_add(out, ATV_TLV8_PROOF, atv_srp_server_proof(h->srps),
				 ATV_SRP_PROOF_LEN, err);
	return r;
}

static int server_m5(struct atv_hap_setup *h, const struct atv_tlv8 *t, struct atv_buf *out,
		     struct atv_err *err)
{
	int r = setup_open_identity(h, t, PS_CTRL_SALT, PS_CTRL_INFO, "PS-Msg05", "pair-setup M5",
				    err);

	if (r == 0)
		r = atv_tlv8_add_u8(out, ATV_TLV8_STATE, 6, err);
	if (r == 0)
		r = setup_seal_identity(h, PS_ACC_SALT, PS_ACC_INFO, "PS-Msg06", out, err);
	return r;
}

static int server_step(struct atv_hap_setup *h, const uint8_t *in, size_t inlen,
		       struct atv_buf *out, struct atv_err *err)
{
	struct atv_tlv8 t = {0};
	int r = recv_msg(&t, in, inlen, (uint8_t)h->next, "pair-setup", NULL, err);

	if (r == 0)
		r = h->next == 1   ? server_m1(h, &t, out, err)
		    : h->next == 3 ? server_m3(h, &t, out, err)
				   : server_m5(h, &t, out, err);
	atv_tlv8_release(&t);
	if (r < 0)
		return error_reply(out, (uint8_t)(h->next + 1), r);
	h->next += 2;
	h->done = h->next > (h->transient ? 3 : 5);
	return h->done ? ATV_HAP_DONE : ATV_HAP_CONTINUE;
}

int atv_hap_setup_step(struct atv_hap_setup *h, const uint8_t *in, size_t inlen,
		       struct atv_buf *out, struct atv_err *err)
{
	int r;

	atv_buf_reset(out);
	if (h->failed || h->done)
		return atv_err_set(err, ATV_E_USAGE, "pair-setup is already over");
	r = h->server ? server_step(h, in, inlen, out, err) : client_step(h, in, inlen, out, err);
	if (r < 0) {
		h->failed = 1;
		if (!h->server)
			atv_buf_reset(out);
	}
	return r;
}

int atv_hap_setup_client_creds(const struct atv_hap_setup *h, struct atv_hap_creds *c,
			       struct atv_err *err)
{
	if (h->server || !h->done)
		return atv_err_set(err, ATV_E_USAGE, "pair-setup has not finished");
	if (h->transient)
		return atv_err_set(err, ATV_E_USAGE, "transient pair-setup gives no credentials");
	memset(c, 0, sizeof *c);
	memcpy(c->ltpk, h->peer.ltpk, sizeof c->ltpk);
	memcpy(c->ltsk, h->seed, sizeof c->ltsk);
	memcpy(c->atv_id, h->peer.id, h->peer.idlen);
	c->atv_id_len = h->peer.idlen;
	memcpy(c->client_id, h->id, h->idlen);
	c->client_id_len = h->idlen;
	return 0;
}

int atv_hap_setup_client_creds_string(const struct atv_hap_setup *h, char **out,
				      struct atv_err *err)
{
	struct atv_hap_creds c;
	char s[ATV_HAP_CREDS_STRLEN];
	int r;

	*out = NULL;
	memset(&c, 0, sizeof c);
	r = atv_hap_setup_client_creds(h, &c, err);
	if (r == 0)
		r = atv_hap_creds_format(&c, s, sizeof s, err);
	if (r == 0 && !(*out = strdup(s)))
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
	atv_crypto_wipe(s, sizeof s);
	atv_hap_creds_wipe(&c);
	return r;
}

int atv_hap_setup_server_peer(const struct atv_hap_setup *h, struct atv_hap_peer *p,
			      struct atv_err *err)
{
	if (!h->server || !h->done)
		return atv_err_set(err, ATV_E_USAGE, "pair-setup has not finished");
	if (h->transient)
		return atv_err_set(err, ATV_E_USAGE, "transient pair-setup has no controller");
	*p = h->peer;
	return 0;
}

const uint8_t *atv_hap_setup_srp_key(const struct atv_hap_setup *h)
{
	return h->have_key ? h->key : NULL;
}

void atv_hap_setup_free(struct atv_hap_setup *h)
{
	if (!h)
		return;
	atv_srp_client_free(h->srpc);
	atv_srp_server_free(h->srps);
	atv_buf_release(&h->name);
	atv_buf_release(&h->peer_name);
	atv_crypto_wipe(h, sizeof *h);
	free(h);
}

int atv_hap_setup_m2_check(const uint8_t *m2, size_t len, const char *device, struct atv_err *err)
{
	struct atv_tlv8 t = {0};
	const struct atv_tlv8_item *e;
	uint64_t code = 0;
	struct atv_err pe = {0};
	int r = atv_tlv8_parse(&t, m2, len, &pe);

	if (r < 0) {
		r = atv_err_set(err, ATV_E_PROTO, "pair-setup M2 from %s: %s", device, pe.msg);
	} else if ((e = atv_tlv8_find(&t, ATV_TLV8_ERROR))) {
		atv_tlv8_uint(e, &code, NULL);
		r = atv_err_set(err, ATV_E_REFUSED, "%s refused pairing: %s", device,
				atv_tlv8_error_name(code));
	}
	atv_tlv8_release(&t);
	return r;
}

int atv_hap_setup_finish(const char *pin, const char *pairing_id, const struct atv_buf *name,
			 const struct atv_buf *m2, atv_hap_exchange_fn exchange, void *ctx,
			 const char *device, char **credentials, struct atv_err *err)
{
	struct atv_hap_setup *h;
	struct atv_buf msg, reply;
	struct atv_err e = {0};
	int r = 0;

	h = atv_hap_setup_client_new(pin, pairing_id, NULL, err);
	if (!h)
		return err && err->code ? -err->code : -ATV_E_NOMEM;
	atv_buf_init(&msg, ATV_HAP_MSG_MAX);
	atv_buf_init(&reply, ATV_HAP_MSG_MAX);
	if (name)
		r = atv_hap_setup_set_name(h, name->data, name->len, err);
	if (r < 0)
		goto out;
	/* The context starts at M1, which has gone out already (it has no
	 * secret in it): step past it, then answer M2. */
	r = atv_hap_setup_step(h, NULL, 0, &msg, &e);
	if (r >= 0)
		r = atv_hap_setup_step(h, m2->data, m2->len, &msg, &e);
	while (r == ATV_HAP_CONTINUE) {
		r = exchange(ctx, &msg, &reply, err);
		if (r < 0)
			goto out;
		r = atv_hap_setup_step(h, reply.data, reply.len, &msg, &e);
	}
	if (r == -ATV_E_AUTH) {
		/* "wrong pin" (the device's Authentication error at M4, or its
		 * proof not matching ours) or a signature that does not verify */
		r = atv_err_set(err, ATV_E_AUTH, "%s: %s", device, e.msg);
		goto out;
	}
	if (r < 0) {
		r = atv_err_set(err, -r, "pairing with %s failed: %s", device, e.msg);
		goto out;
	}
	r = atv_hap_setup_client_creds_string(h, credentials, err);
out:
	atv_buf_release(&msg);
	atv_buf_release(&reply);
	atv_hap_setup_free(h);
	return r;
}

/* ---- pair-verify ---- */

struct atv_hap_verify {
	int server, next, failed, done;
	uint8_t eph_priv[ATV_X25519_LEN], eph_pub[ATV_X25519_LEN]; /* ours, this session */
	uint8_t peer_eph[ATV_X25519_LEN];
	uint8_t shared[ATV_X25519_LEN];
	uint8_t enc[ATV_AEAD_KEY_LEN]; /* the M2/M3 encryption key */
	struct atv_hap_creds creds;    /* controller: who we are and whom we trust */
	uint8_t id[ATV_HAP_ID_MAX];    /* accessory: its identity */
	size_t idlen;
	uint8_t seed[ATV_ED25519_SEED_LEN];
	atv_hap_lookup_fn lookup;
	void *arg;
	struct atv_hap_peer peer; /* accessory: the controller that verified */
};

struct atv_hap_verify *atv_hap_verify_client_new(const struct atv_hap_creds *c, struct atv_err *err)
{
	struct atv_hap_verify *v;

	if (!c->atv_id_len || c->atv_id_len > ATV_HAP_ID_MAX || !c->client_id_len ||
	    c->client_id_len > ATV_HAP_ID_MAX) {
		atv_err_set(err, ATV_E_USAGE, "incomplete hap credentials");
		return NULL;
	}
	v = calloc(1, sizeof *v);
	if (!v) {
		atv_err_set(err, ATV_E_NOMEM, "out of memory");
		return NULL;
	}
	v->creds = *c;
	return v;
}

struct atv_hap_verify *atv_hap_verify_server_new(const char *accessory_id,
						 const uint8_t seed[ATV_ED25519_SEED_LEN],
						 atv_hap_lookup_fn lookup, void *arg,
						 struct atv_err *err)
{
	struct atv_hap_verify *v;

	if (check_id(accessory_id, "accessory identifier", err) < 0)
		return NULL;
	if (!seed || !lookup) {
		atv_err_set(err, ATV_E_USAGE, "an accessory needs its key and a controller lookup");
		return NULL;
	}
	v = calloc(1, sizeof *v);
	if (!v) {
		atv_err_set(err, ATV_E_NOMEM, "out of memory");
		return NULL;
	}
	v->server = 1;
	v->next = 1;
	v->idlen = strlen(accessory_id);
	memcpy(v->id, accessory_id, v->idlen);
	memcpy(v->seed, seed, sizeof v->seed);
	v->lookup = lookup;
	v->arg = arg;
	return v;
}

/* Our ephemeral key, the shared secret with the peer's, and the M2/M3
 * key HKDF(shared, Pair-Verify-Encrypt-Salt, -Info). */
static int verify_keys(struct atv_hap_verify *v, const uint8_t *peer, struct atv_err *err)
{
	int r = 0;

	memcpy(v->peer_eph, peer, sizeof v->peer_eph);
	if (v->server)
		r = atv_x25519_keygen(v->eph_priv, v->eph_pub, err);
	if (r == 0)
		r = atv_x25519_derive(v->eph_priv, v->peer_eph, v->shared, err);
	if (r == 0)
		r = atv_hkdf(v->shared, sizeof v->shared, PV_ENC_SALT, PV_ENC_INFO, v->enc, err);
	return r;
}

/* Sign first ‖ id ‖ second with seed and seal {Identifier, Signature}. */
static int verify_seal(const struct atv_hap_verify *v, const uint8_t *seed, const uint8_t *id,
		       size_t idlen, const char *label, struct atv_buf *out, struct atv_err *err)
{
	uint8_t msg[SIGNED_MAX], sig[ATV_ED25519_SIG_LEN];
	size_t len = signed_info(msg, v->eph_pub, id, idlen, v->peer_eph);
	int r = atv_ed25519_sign(seed, msg, len, sig, err);

	if (r == 0)
		r = seal_inner(v->enc, label, id, idlen, NULL, sig, NULL, out, err);
	return r;
}

/* Check the peer's sealed signature over peer_eph ‖ id ‖ eph_pub with
 * ltpk; client side: ltpk known (the device's) and id must equal want;
 * server side: ltpk looked up by the id. */
static int verify_open(struct atv_hap_verify *v, const struct atv_tlv8 *t, const char *label,
		       const char *what, struct atv_err *err)
{
	uint8_t msg[SIGNED_MAX], ltpk[ATV_ED25519_PUB_LEN] = {0};
	struct atv_hap_peer *p = &v->peer;
	const uint8_t *sig = NULL;
	struct atv_tlv8 in;
	size_t len;
	int r = open_inner(v->enc, label, t, &in, what, err);

	if (r == 0)
		r = get_id(&in, p->id, &p->idlen, what, err);
	if (r == 0) {
		sig = item(&in, ATV_TLV8_SIGNATURE, ATV_ED25519_SIG_LEN, NULL, what, err);
		r = sig ? 0 : -ATV_E_PROTO;
	}
	if (r == 0 && !v->server &&
	    (p->idlen != v->creds.atv_id_len || memcmp(p->id, v->creds.atv_id, p->idlen) != 0))
		r = atv_err_set(err, ATV_E_AUTH, "%s: not the paired device", what);
	if (r == 0 && !v->server)
		memcpy(ltpk, v->creds.ltpk, sizeof ltpk);
	if (r == 0 && v->server && v->lookup(v->arg, p->id, p->idlen, ltpk) < 0)
		r = atv_err_set(err, ATV_E_AUTH, "%s: unknown controller", what);
	if (r == 0) {
		len = signed_info(msg, v->peer_eph, p->id, p->idlen, v->eph_pub);
		r = atv_ed25519_verify(ltpk, msg, len, sig, err);
		if (r < 0)
			atv_err_prefix(err, "%s: signature does not verify", what);
	}
	if (r == 0)
		memcpy(p->ltpk, ltpk, sizeof p->ltpk);
	atv_tlv8_release(&in);
	return r;
}

static int vclient_m1(struct atv_hap_verify *v, size_t inlen, struct atv_buf *out,
		      struct atv_err *err)
{
	int r;

	if (inlen)
		return atv_err_set(err, ATV_E_USAGE, "pair-verify starts without a message");
	r = atv_x25519_keygen(v->eph_priv, v->eph_pub, err);
	if (r == 0)
		r = atv_tlv8_add_u8(out, ATV_TLV8_STATE, 1, err);
	if (r == 0)
		r = atv_tlv8_add(out, ATV_TLV8_PUBLIC_KEY, v->eph_pub, sizeof v->eph_pub, err);
	return r;
}

static int vclient_m2(struct atv_hap_verify *v, const struct atv_tlv8 *t, struct atv_buf *out,
		      struct atv_err *err)
{
	const uint8_t *pub =
		item(t, ATV_TLV8_PUBLIC_KEY, ATV_X25519_LEN, NULL, "pair-verify M2", err);
	int r;

	if (!pub)
		return -ATV_E_PROTO;
	r = verify_keys(v, pub, err);
	if (r == 0)
		r = verify_open(v, t, "PV-Msg02", "pair-verify M2", err);
	if (r == 0)
		r = atv_tlv8_add_u8(out, ATV_TLV8_STATE, 3, err);
	if (r == 0)
		r = verify_seal(v, v->creds.ltsk, v->creds.client_id, v->creds.client_id_len,
				"PV-Msg03", out, err);
	return r;
}

static int vclient_step(struct atv_hap_verify *v, const uint8_t *in, size_t inlen,
			struct atv_buf *out, struct atv_err *err)
{
	struct atv_tlv8 t = {0};
	const char *auth = "device rejected our credentials";
	int r;

	if (v->next == 0) {
		r = vclient_m1(v, inlen, out, err);
		v->next = 2;
		return r < 0 ? r : ATV_HAP_CONTINUE;
	}
	r = recv_msg(&t, in, inlen, (uint8_t)v->next, "pair-verify", auth, err);
	if (r == 0 && v->next == 2)
		r = vclient_m2(v, &t, out, err);
	atv_tlv8_release(&t);
	if (r < 0)
		return r;
	v->next += 2;
	v->done = v->next > 4;
	return v->done ? ATV_HAP_DONE : ATV_HAP_CONTINUE;
}

static int vserver_m1(struct atv_hap_verify *v, const struct atv_tlv8 *t, struct atv_buf *out,
		      struct atv_err *err)
{
	const uint8_t *pub =
		item(t, ATV_TLV8_PUBLIC_KEY, ATV_X25519_LEN, NULL, "pair-verify M1", err);
	int r;

	if (!pub)
		return -ATV_E_PROTO;
	r = verify_keys(v, pub, err);
	if (r == 0)
		r = atv_tlv8_add_u8(out, ATV_TLV8_STATE, 2, err);
	if (r == 0)
		r = atv_tlv8_add(out, ATV_TLV8_PUBLIC_KEY, v->eph_pub, sizeof v->eph_pub, err);
	if (r == 0)
		r = verify_seal(v, v->seed, v->id, v->idlen, "PV-Msg02", out, err);
	return r;
}

static int vserver_m3(struct atv_hap_verify *v, const struct atv_tlv8 *t, struct atv_buf *out,
		      struct atv_err *err)
{
	int r = verify_open(v, t, "PV-Msg03", "pair-verify M3", err);

	if (r == 0)
		r = atv_tlv8_add_u8(out, ATV_TLV8_STATE, 4, err);
	return r;
}

static int vserver_step(struct atv_hap_verify *v, const uint8_t *in, size_t inlen,
			struct atv_buf *out, struct atv_err *err)
{
	struct atv_tlv8 t = {0};
	int r = recv_msg(&t, in, inlen, (uint8_t)v->next, "pair-verify", NULL, err);

	if (r == 0)
		r = v->next == 1 ? vserver_m1(v, &t, out, err) : vserver_m3(v, &t, out, err);
	atv_tlv8_release(&t);
	if (r < 0)
		return error_reply(out, (uint8_t)(v->next + 1), r);
	v->next += 2;
	v->done = v->next > 3;
	return v->done ? ATV_HAP_DONE : ATV_HAP_CONTINUE;
}

int atv_hap_verify_step(struct atv_hap_verify *v, const uint8_t *in, size_t inlen,
			struct atv_buf *out, struct atv_err *err)
{
	int r;

	atv_buf_reset(out);
	if (v->failed || v->done)
		return atv_err_set(err, ATV_E_USAGE, "pair-verify is already over");
	r = v->server ? vserver_step(v, in, inlen, out, err) : vclient_step(v, in, inlen, out, err);
	if (r < 0) {
		v->failed = 1;
		atv_crypto_wipe(v->shared, sizeof v->shared);
		if (!v->server)
			atv_buf_reset(out);
	}
	return r;
}

const uint8_t *atv_hap_verify_shared(const struct atv_hap_verify *v)
{
	return v->done ? v->shared : NULL;
}

int atv_hap_verify_derive(const struct atv_hap_verify *v, const char *salt, const char *info,
			  uint8_t key[ATV_AEAD_KEY_LEN], struct atv_err *err)
{
	if (!v->done)
		return atv_err_set(err, ATV_E_USAGE, "pair-verify has not finished");
	return atv_hkdf(v->shared, sizeof v->shared, salt, info, key, err);
}

int atv_hap_verify_server_peer(const struct atv_hap_verify *v, struct atv_hap_peer *p,
			       struct atv_err *err)
{
	if (!v->server || !v->done)
		return atv_err_set(err, ATV_E_USAGE, "pair-verify has not finished");
	*p = v->peer;
	return 0;
}

void atv_hap_verify_free(struct atv_hap_verify *v)
{
	if (!v)
		return;
	atv_crypto_wipe(v, sizeof *v);
	free(v);
}

/* ---- session cipher ---- */

void atv_hap_cipher_init(struct atv_hap_cipher *c, const uint8_t out_key[ATV_AEAD_KEY_LEN],
			 const uint8_t in_key[ATV_AEAD_KEY_LEN])
{
	memcpy(c->out_key, out_key, sizeof c->out_key);
	memcpy(c->in_key, in_key, sizeof c->in_key);
	c->out_ctr = c->in_ctr = 0;
}

int atv_hap_verify_cipher(const struct atv_hap_verify *v, const char *salt, const char *write_info,
			  const char *read_info, struct atv_hap_cipher *c, struct atv_err *err)
{
	uint8_t w[ATV_AEAD_KEY_LEN], rd[ATV_AEAD_KEY_LEN];
	int r = atv_hap_verify_derive(v, salt, write_info, w, err);

	if (r == 0)
		r = atv_hap_verify_derive(v, salt, read_info, rd, err);
	if (r == 0)
		atv_hap_cipher_init(c, v->server ? rd : w, v->server ? w : rd);
	atv_crypto_wipe(w, sizeof w);
	atv_crypto_wipe(rd, sizeof rd);
	return r;
}

int atv_hap_setup_cipher(const struct atv_hap_setup *h, const char *salt, const char *write_info,
			 const char *read_info, struct atv_hap_cipher *c, struct atv_err *err)
{
	uint8_t w[ATV_AEAD_KEY_LEN], rd[ATV_AEAD_KEY_LEN];
	int r;

	if (!h->done || !h->transient)
		return atv_err_set(err, ATV_E_USAGE, "no finished transient pair-setup");
	r = atv_hkdf(h->key, sizeof h->key, salt, write_info, w, err);
	if (r == 0)
		r = atv_hkdf(h->key, sizeof h->key, salt, read_info, rd, err);
	if (r == 0)
		atv_hap_cipher_init(c, h->server ? rd : w, h->server ? w : rd);
	atv_crypto_wipe(w, sizeof w);
	atv_crypto_wipe(rd, sizeof rd);
	return r;
}

void atv_hap_cipher_wipe(struct atv_hap_cipher *c)
{
	atv_crypto_wipe(c, sizeof *c);
}

/* A counter must never repeat under one key. */
static int next_nonce(uint64_t *ctr, uint8_t nonce[ATV_AEAD_NONCE_LEN], struct atv_err *err)
{
	if (*ctr == UINT64_MAX)
		return atv_err_set(err, ATV_E_LIMIT, "session nonce counter exhausted");
	atv_nonce_counter(nonce, *ctr);
	return 0;
}

/* Seal len bytes with aad onto the end of out, using the out counter. */
static int seal_onto(struct atv_hap_cipher *c, const void *aad, size_t aadlen, const uint8_t *pt,
		     size_t len, struct atv_buf *out, struct atv_err *err)
{
	uint8_t nonce[ATV_AEAD_NONCE_LEN];
	size_t at = out->len;
	int r = next_nonce(&c->out_ctr, nonce, err);

	if (r == 0)
		r = atv_buf_append(out, pt, len, err);
	if (r == 0)
		r = atv_buf_append(out, NULL, ATV_AEAD_TAG_LEN, err);
	if (r == 0)
		r = atv_aead_seal(c->out_key, nonce, aad, aadlen, out->data + at, len,
				  out->data + at, err);
	if (r < 0) {
		out->len = at;
		return r;
	}
	c->out_ctr++;
	return 0;
}

/* Open len bytes (ciphertext and tag) with aad onto the end of out. */
static int open_onto(struct atv_hap_cipher *c, const void *aad, size_t aadlen, const uint8_t *ct,
		     size_t len, struct atv_buf *out, struct atv_err *err)
{
	uint8_t nonce[ATV_AEAD_NONCE_LEN];
	size_t at = out->len;
	int r;

	if (len < ATV_AEAD_TAG_LEN)
		return atv_err_set(err, ATV_E_PROTO, "encrypted message shorter than its tag");
	r = next_nonce(&c->in_ctr, nonce, err);
	if (r == 0)
		r = atv_buf_reserve(out, len - ATV_AEAD_TAG_LEN, err);
	/* out->data is NULL while out is empty and the plaintext is too */
	if (r == 0)
		r = atv_aead_open(c->in_key, nonce, aad, aadlen, ct, len,
				  out->data ? out->data + at : NULL, err);
	if (r < 0)
		return r;
	out->len = at + len - ATV_AEAD_TAG_LEN;
	c->in_ctr++;
	return 0;
}

int atv_hap_cipher_seal(struct atv_hap_cipher *c, const uint8_t *pt, size_t len,
			struct atv_buf *out, struct atv_err *err)
{
	return seal_onto(c, NULL, 0, pt, len, out, err);
}

int atv_hap_cipher_open(struct atv_hap_cipher *c, const uint8_t *ct, size_t len,
			struct atv_buf *out, struct atv_err *err)
{
	return open_onto(c, NULL, 0, ct, len, out, err);
}

int atv_hap_cipher_seal_blocks(struct atv_hap_cipher *c, const uint8_t *pt, size_t len,
			       struct atv_buf *out, struct atv_err *err)
{
	size_t start = out->len;

	while (len > 0) {
		size_t n = len < ATV_HAP_BLOCK_MAX ? len : ATV_HAP_BLOCK_MAX;
		uint8_t hdr[2];
		int r;

		atv_put_le16(hdr, (uint16_t)n);
		r = atv_buf_append(out, hdr, 2, err);
		if (r == 0)
			r = seal_onto(c, hdr, 2, pt, n, out, err);
		if (r < 0) {
			/* blocks already sealed used up counters: the
			 * session is unusable, so give nothing back */
			out->len = start;
			return r;
		}
		pt += n;
		len -= n;
	}
	return 0;
}

int atv_hap_cipher_open_blocks(struct atv_hap_cipher *c, const uint8_t *in, size_t len,
			       size_t *consumed, struct atv_buf *out, struct atv_err *err)
{
	size_t pos = 0;
	int r = 0;

	while (len - pos >= 2) {
		size_t n = atv_get_le16(in + pos);

		if (len - pos - 2 < n + ATV_AEAD_TAG_LEN)
			break; /* a partial block: wait for the rest */
		r = open_onto(c, in + pos, 2, in + pos + 2, n + ATV_AEAD_TAG_LEN, out, err);
		if (r < 0)
			break;
		pos += 2 + n + ATV_AEAD_TAG_LEN;
	}
	*consumed = pos;
	return r;
}
