/* fuzz-hap - HAP pairing as a hostile peer: the first byte picks a state of
 * the controller or accessory machine, honest messages bring it there, and
 * the rest of the input is fed as the peer's next message -- raw, or as the
 * plaintext of a properly encrypted sub-TLV so the fuzzer gets past the
 * AEAD to the identity and signature checks.  Also the session cipher
 * decoders and the credentials parser.  Nothing may crash, leak or read out
 * of bounds, whatever the outcome. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "hap.h"
#include "tlv8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PIN "1234"
#define CLIENT_ID "client"
#define ATV_ID "accessory"

static const uint8_t atv_seed[32] = {1, 2, 3};
static const uint8_t client_seed[32] = {4, 5, 6};

struct peer {
	struct atv_buf a, b; /* what the controller and the accessory sent last */
	struct atv_hap_setup *sc, *ss;
	struct atv_hap_verify *vc, *vs;
};

static int lookup(void *arg, const uint8_t *id, size_t idlen, uint8_t ltpk[32])
{
	(void)arg;
	if (idlen != strlen(CLIENT_ID) || memcmp(id, CLIENT_ID, idlen) != 0)
		return -1;
	return atv_ed25519_pub(client_seed, ltpk, NULL);
}

/* Advance the setup pair by n honest half-steps (client first). */
static int setup_run(struct peer *p, int n)
{
	int r = atv_hap_setup_step(p->sc, NULL, 0, &p->a, NULL);

	for (int i = 1; r >= 0 && i < n; i++)
		r = i % 2 ? atv_hap_setup_step(p->ss, p->a.data, p->a.len, &p->b, NULL)
			  : atv_hap_setup_step(p->sc, p->b.data, p->b.len, &p->a, NULL);
	return r;
}

static int verify_run(struct peer *p, int n)
{
	int r = atv_hap_verify_step(p->vc, NULL, 0, &p->a, NULL);

	for (int i = 1; r >= 0 && i < n; i++)
		r = i % 2 ? atv_hap_verify_step(p->vs, p->a.data, p->a.len, &p->b, NULL)
			  : atv_hap_verify_step(p->vc, p->b.data, p->b.len, &p->a, NULL);
	return r;
}

/* msg = {State state, [PublicKey pub], EncryptedData seal(key, label, pt)} */
static int sealed_msg(const uint8_t *key, const char *label, uint8_t state, const uint8_t *pub,
		      const uint8_t *pt, size_t len, struct atv_buf *msg)
{
	uint8_t nonce[ATV_AEAD_NONCE_LEN];
	struct atv_buf ct;
	int r;

	atv_buf_init(&ct, ATV_TLV8_MAX_SIZE);
	atv_buf_reset(msg);
	atv_nonce_label(nonce, label);
	r = atv_buf_append(&ct, NULL, len + ATV_AEAD_TAG_LEN, NULL);
	if (r == 0)
		r = atv_aead_seal(key, nonce, NULL, 0, pt, len, ct.data, NULL);
	if (r == 0)
		r = atv_tlv8_add_u8(msg, ATV_TLV8_STATE, state, NULL);
	if (r == 0 && pub)
		r = atv_tlv8_add(msg, ATV_TLV8_PUBLIC_KEY, pub, 32, NULL);
	if (r == 0)
		r = atv_tlv8_add(msg, ATV_TLV8_ENCRYPTED_DATA, ct.data, ct.len, NULL);
	atv_buf_release(&ct);
	return r;
}

/* Seal pt as pair-setup M5/M6 under the accessory's K. */
static int setup_sealed(struct peer *p, const char *label, uint8_t state, const uint8_t *pt,
			size_t len, struct atv_buf *msg)
{
	const uint8_t *k = atv_hap_setup_srp_key(p->ss);
	uint8_t key[32];

	if (!k || atv_hkdf(k, ATV_SRP_KEY_LEN, "Pair-Setup-Encrypt-Salt", "Pair-Setup-Encrypt-Info",
			   key, NULL) < 0)
		return -1;
	return sealed_msg(key, label, state, NULL, pt, len, msg);
}

/* As the peer with our own X25519 key: derive the verify key with the
 * other side's public key (in the PublicKey item of other). */
static int verify_key(const struct atv_buf *other, const uint8_t *priv, uint8_t key[32])
{
	const struct atv_tlv8_item *pk;
	struct atv_tlv8 t;
	uint8_t shared[32];
	int r = atv_tlv8_parse(&t, other->data, other->len, NULL);

	pk = r == 0 ? atv_tlv8_find(&t, ATV_TLV8_PUBLIC_KEY) : NULL;
	r = pk && pk->len == 32 ? atv_x25519_derive(priv, pk->val, shared, NULL) : -1;
	if (r == 0)
		r = atv_hkdf(shared, 32, "Pair-Verify-Encrypt-Salt", "Pair-Verify-Encrypt-Info",
			     key, NULL);
	atv_tlv8_release(&t);
	return r;
}

static void fuzz_setup(struct peer *p, int mode, const uint8_t *d, size_t n)
{
	static const int client_steps[] = {1, 3, 5, 5}; /* client then waits for M2, M4, M6 */
	static const int server_steps[] = {0, 2, 4, 4}; /* server waits for M1, M3, M5 */
	struct atv_buf msg;

	atv_buf_init(&msg, ATV_HAP_MSG_MAX);
	if (mode < 4) {
		if (setup_run(p, client_steps[mode]) < 0)
			goto out;
		if (mode == 3 && setup_sealed(p, "PS-Msg06", 6, d, n, &msg) == 0)
			atv_hap_setup_step(p->sc, msg.data, msg.len, &p->a, NULL);
		else if (mode != 3)
			atv_hap_setup_step(p->sc, d, n, &p->a, NULL);
	} else {
		mode -= 4;
		if (server_steps[mode] && setup_run(p, server_steps[mode]) < 0)
			goto out;
		if (mode == 3 && setup_sealed(p, "PS-Msg05", 5, d, n, &msg) == 0)
			atv_hap_setup_step(p->ss, msg.data, msg.len, &p->b, NULL);
		else if (mode != 3)
			atv_hap_setup_step(p->ss, d, n, &p->b, NULL);
	}
out:
	atv_buf_release(&msg);
}

/* The controller after M1, given an M2 we build around the fuzz input. */
static void fuzz_verify_client_inner(struct peer *p, const uint8_t *d, size_t n)
{
	uint8_t priv[32], pub[32], key[32];
	struct atv_buf msg;

	atv_buf_init(&msg, ATV_HAP_MSG_MAX);
	if (verify_run(p, 1) == 0 && atv_x25519_keygen(priv, pub, NULL) == 0 &&
	    verify_key(&p->a, priv, key) == 0 &&
	    sealed_msg(key, "PV-Msg02", 2, pub, d, n, &msg) == 0)
		atv_hap_verify_step(p->vc, msg.data, msg.len, &p->a, NULL);
	atv_buf_release(&msg);
}

/* The accessory after our own M1, given an M3 built around the input. */
static void fuzz_verify_server_inner(struct peer *p, const uint8_t *d, size_t n)
{
	uint8_t priv[32], pub[32], key[32];
	struct atv_buf msg;

	atv_buf_init(&msg, ATV_HAP_MSG_MAX);
	if (atv_x25519_keygen(priv, pub, NULL) == 0 &&
	    atv_tlv8_add_u8(&msg, ATV_TLV8_STATE, 1, NULL) == 0 &&
	    atv_tlv8_add(&msg, ATV_TLV8_PUBLIC_KEY, pub, 32, NULL) == 0 &&
	    atv_hap_verify_step(p->vs, msg.data, msg.len, &p->b, NULL) == 0 &&
	    verify_key(&p->b, priv, key) == 0 &&
	    sealed_msg(key, "PV-Msg03", 3, NULL, d, n, &msg) == 0)
		atv_hap_verify_step(p->vs, msg.data, msg.len, &p->b, NULL);
	atv_buf_release(&msg);
}

static void fuzz_verify(struct peer *p, int mode, const uint8_t *d, size_t n)
{
	switch (mode) {
	case 0: /* controller: M2 */
		if (verify_run(p, 1) == 0)
			atv_hap_verify_step(p->vc, d, n, &p->a, NULL);
		break;
	case 1:
		fuzz_verify_client_inner(p, d, n);
		break;
	case 2: /* controller: M4 */
		if (verify_run(p, 3) == 0)
			atv_hap_verify_step(p->vc, d, n, &p->a, NULL);
		break;
	case 3: /* accessory: M1 */
		atv_hap_verify_step(p->vs, d, n, &p->b, NULL);
		break;
	case 4: /* accessory: M3 */
		if (verify_run(p, 2) == 0)
			atv_hap_verify_step(p->vs, d, n, &p->b, NULL);
		break;
	default:
		fuzz_verify_server_inner(p, d, n);
		break;
	}
}

static void fuzz_cipher(const uint8_t *d, size_t n)
{
	uint8_t k1[32] = {1}, k2[32] = {2};
	struct atv_hap_cipher c;
	struct atv_buf out;
	size_t used = 0, consumed;

	atv_buf_init(&out, 1 << 20);
	atv_hap_cipher_init(&c, k1, k2);
	atv_hap_cipher_open(&c, d, n, &out, NULL);
	atv_hap_cipher_init(&c, k1, k2);
	while (atv_hap_cipher_open_blocks(&c, d + used, n - used, &consumed, &out, NULL) == 0 &&
	       consumed)
		used += consumed;
	if (used > n)
		abort();
	atv_buf_release(&out);
}

static void fuzz_creds(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1), out[ATV_HAP_CREDS_STRLEN];
	struct atv_hap_creds c, c2;

	if (!s)
		return;
	memcpy(s, d, n);
	s[n] = '\0';
	if (atv_hap_creds_parse(s, &c, NULL) == 0) {
		if (atv_hap_creds_format(&c, out, sizeof out, NULL) < 0 ||
		    atv_hap_creds_parse(out, &c2, NULL) < 0 || memcmp(&c, &c2, sizeof c) != 0)
			abort();
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct peer p = {0};
	int mode;

	if (size < 1)
		return 0;
	mode = data[0] % 16;
	data++;
	size--;
	if (mode == 14) {
		fuzz_cipher(data, size);
		return 0;
	}
	if (mode == 15) {
		fuzz_creds(data, size);
		return 0;
	}
	atv_buf_init(&p.a, ATV_HAP_MSG_MAX);
	atv_buf_init(&p.b, ATV_HAP_MSG_MAX);
	if (mode < 8) {
		p.sc = atv_hap_setup_client_new(PIN, CLIENT_ID, client_seed, NULL);
		p.ss = atv_hap_setup_server_new(PIN, ATV_ID, atv_seed, NULL);
		if (p.sc && p.ss)
			fuzz_setup(&p, mode, data, size);
	} else {
		struct atv_hap_creds c = {.atv_id_len = strlen(ATV_ID),
					  .client_id_len = strlen(CLIENT_ID)};

		memcpy(c.atv_id, ATV_ID, c.atv_id_len);
		memcpy(c.client_id, CLIENT_ID, c.client_id_len);
		memcpy(c.ltsk, client_seed, 32);
		if (atv_ed25519_pub(atv_seed, c.ltpk, NULL) == 0) {
			p.vc = atv_hap_verify_client_new(&c, NULL);
			p.vs = atv_hap_verify_server_new(ATV_ID, atv_seed, lookup, NULL, NULL);
		}
		if (p.vc && p.vs)
			fuzz_verify(&p, mode - 8, data, size);
	}
	atv_hap_setup_free(p.sc);
	atv_hap_setup_free(p.ss);
	atv_hap_verify_free(p.vc);
	atv_hap_verify_free(p.vs);
	atv_buf_release(&p.a);
	atv_buf_release(&p.b);
	return 0;
}
