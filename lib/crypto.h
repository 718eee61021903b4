/* crypto.h - the only door to OpenSSL: random bytes, SHA-512, HKDF-SHA512,
 * ChaCha20-Poly1305, X25519, Ed25519 and SRP-6a (RFC 5054 3072-bit group,
 * SHA-512) as HAP pairing uses them.
 *
 * Keys are raw byte arrays (32-byte X25519 keys, 32-byte Ed25519 seeds and
 * public keys, 64-byte signatures), owned by the caller, who wipes secrets
 * with atv_crypto_wipe().  Every function returns 0 or a negative ATV_E_*
 * and fills err; a failed authentication (bad AEAD tag, bad signature, bad
 * SRP proof) is always -ATV_E_AUTH, so callers can tell it from -ATV_E_PROTO
 * (malformed input) and -ATV_E_NOMEM. */
#ifndef ATV_CRYPTO_H
#define ATV_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define ATV_SHA512_LEN 64
#define ATV_AEAD_KEY_LEN 32
#define ATV_AEAD_NONCE_LEN 12
#define ATV_AEAD_TAG_LEN 16
#define ATV_X25519_LEN 32
#define ATV_ED25519_SEED_LEN 32
#define ATV_ED25519_PUB_LEN 32
#define ATV_ED25519_SIG_LEN 64
#define ATV_SRP_PROOF_LEN ATV_SHA512_LEN /* M1, M2 */
#define ATV_SRP_KEY_LEN ATV_SHA512_LEN	 /* K = H(S) */
#define ATV_SRP_MAX_LEN 384		 /* a 3072-bit group element */

/* Wipe n bytes at p (OPENSSL_cleanse: not optimised away). */
void atv_crypto_wipe(void *p, size_t n);

/* Constant-time comparison of n bytes: 0 when equal. */
int atv_crypto_memcmp(const void *a, const void *b, size_t n);

/* n cryptographically strong random bytes. */
int atv_random(void *p, size_t n, struct atv_err *err);

/* A fresh random (version 4, RFC 4122) UUID in upper case, as pairing
 * identifiers and message ids use them.  0 or -ATV_E_IO. */
#define ATV_UUID_SIZE 37 /* "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX" and NUL */
int atv_uuid(char out[ATV_UUID_SIZE], struct atv_err *err);

/* out = SHA-256(p[0..n)) (pyatv's now-playing hash). */
#define ATV_SHA256_LEN 32
int atv_sha256(const void *p, size_t n, uint8_t out[ATV_SHA256_LEN], struct atv_err *err);

/* out = SHA-512(p[0..n)). */
int atv_sha512(const void *p, size_t n, uint8_t out[ATV_SHA512_LEN], struct atv_err *err);

/* out = MD5(p[0..n)).  Only for DMAP Remote pairing, whose pairing code is
 * an MD5 digest; never for anything that needs collision resistance. */
#define ATV_MD5_LEN 16
int atv_crypto_md5(const void *p, size_t n, uint8_t out[ATV_MD5_LEN], struct atv_err *err);

/* HKDF-SHA512 (RFC 5869) of ikm (ikmlen > 0) with salt and info (either
 * may be empty), outlen bytes (1..8160) into out. */
int atv_hkdf_sha512(const void *ikm, size_t ikmlen, const void *salt, size_t saltlen,
		    const void *info, size_t infolen, uint8_t *out, size_t outlen,
		    struct atv_err *err);

/* The HAP form: salt and info are C strings, 32 bytes of output. */
int atv_hkdf(const void *ikm, size_t ikmlen, const char *salt, const char *info,
	     uint8_t out[ATV_AEAD_KEY_LEN], struct atv_err *err);

/* HAP nonces are 12 bytes: a label such as "PS-Msg05" (at most 12 bytes)
 * right-aligned after zero bytes, so an 8-byte label gets 4 zero bytes in
 * front; or 4 zero bytes and a 64-bit little-endian message counter. */
void atv_nonce_label(uint8_t nonce[ATV_AEAD_NONCE_LEN], const char *label);
void atv_nonce_counter(uint8_t nonce[ATV_AEAD_NONCE_LEN], uint64_t counter);

/* ChaCha20-Poly1305 (RFC 8439).  seal writes ptlen bytes of ciphertext and
 * the 16-byte tag to out (room for ptlen + 16); open reads ctlen bytes
 * (ciphertext and tag, ctlen >= 16) and writes ctlen - 16 bytes of
 * plaintext to out.  out may equal the input (in place).  aad may be NULL
 * when aadlen is 0.  open returns -ATV_E_AUTH on a bad tag (out is then
 * wiped) and -ATV_E_PROTO when ctlen < 16. */
int atv_aead_seal(const uint8_t key[ATV_AEAD_KEY_LEN], const uint8_t nonce[ATV_AEAD_NONCE_LEN],
		  const void *aad, size_t aadlen, const void *pt, size_t ptlen, uint8_t *out,
		  struct atv_err *err);
int atv_aead_open(const uint8_t key[ATV_AEAD_KEY_LEN], const uint8_t nonce[ATV_AEAD_NONCE_LEN],
		  const void *aad, size_t aadlen, const void *ct, size_t ctlen, uint8_t *out,
		  struct atv_err *err);

/* X25519 (RFC 7748).  keygen makes a random private key and its public
 * key; pub computes the public key of priv; derive computes the shared
 * secret and refuses an all-zero result (a small-order peer key) with
 * -ATV_E_PROTO. */
int atv_x25519_keygen(uint8_t priv[ATV_X25519_LEN], uint8_t pub[ATV_X25519_LEN],
		      struct atv_err *err);
int atv_x25519_pub(const uint8_t priv[ATV_X25519_LEN], uint8_t pub[ATV_X25519_LEN],
		   struct atv_err *err);
int atv_x25519_derive(const uint8_t priv[ATV_X25519_LEN], const uint8_t peer[ATV_X25519_LEN],
		      uint8_t shared[ATV_X25519_LEN], struct atv_err *err);

/* Ed25519 (RFC 8032), keys given as the 32-byte seed (HAP's LTSK).
 * keygen makes a random seed and its public key; pub derives the public
 * key from a seed; verify returns -ATV_E_AUTH for a bad signature. */
int atv_ed25519_keygen(uint8_t seed[ATV_ED25519_SEED_LEN], uint8_t pub[ATV_ED25519_PUB_LEN],
		       struct atv_err *err);
int atv_ed25519_pub(const uint8_t seed[ATV_ED25519_SEED_LEN], uint8_t pub[ATV_ED25519_PUB_LEN],
		    struct atv_err *err);
int atv_ed25519_sign(const uint8_t seed[ATV_ED25519_SEED_LEN], const void *msg, size_t len,
		     uint8_t sig[ATV_ED25519_SIG_LEN], struct atv_err *err);
int atv_ed25519_verify(const uint8_t pub[ATV_ED25519_PUB_LEN], const void *msg, size_t len,
		       const uint8_t sig[ATV_ED25519_SIG_LEN], struct atv_err *err);

/* SRP-6a as HAP pair-setup uses it: RFC 5054's 3072-bit group (g = 5),
 * SHA-512, and the byte conventions of srptools (which pyatv uses and Apple
 * devices accept); see crypto.c for the exact formulas.  Public values are
 * exchanged as big-endian bytes without leading zeros.  Both contexts are
 * opaque, hold secrets (wiped on free) and are freed with their _free
 * function (NULL is fine). */
struct atv_srp_client;
struct atv_srp_server;

/* A client for user and password (C strings).  priv is the private
 * exponent a (big-endian, 1..ATV_SRP_MAX_LEN bytes) or NULL for 32 random
 * bytes; a fixed one is for test vectors only.  NULL on failure (err set). */
struct atv_srp_client *atv_srp_client_new(const char *user, const char *password,
					  const uint8_t *priv, size_t privlen, struct atv_err *err);

/* Our public value A (valid until free). */
size_t atv_srp_client_public(const struct atv_srp_client *c, const uint8_t **a);

/* Take the server's salt and public value B and compute the session key
 * and our proof M1.  -ATV_E_PROTO when B is 0 mod N, not below N, or
 * longer than the group. */
int atv_srp_client_process(struct atv_srp_client *c, const uint8_t *salt, size_t saltlen,
			   const uint8_t *b, size_t blen, struct atv_err *err);

/* Our proof M1 (ATV_SRP_PROOF_LEN bytes) after process, else NULL. */
const uint8_t *atv_srp_client_proof(const struct atv_srp_client *c);

/* Check the server's proof M2: -ATV_E_AUTH when it does not match (a server
 * that does not know the password), -ATV_E_USAGE before process. */
int atv_srp_client_verify(struct atv_srp_client *c, const uint8_t *m2, size_t len,
			  struct atv_err *err);

/* The session key K (ATV_SRP_KEY_LEN bytes), only once the server's proof
 * has been verified, else NULL. */
const uint8_t *atv_srp_client_key(const struct atv_srp_client *c);

void atv_srp_client_free(struct atv_srp_client *c);

/* A server for user and password: computes the verifier from salt (NULL
 * for 16 random bytes) and its public value B from priv (the exponent b;
 * NULL for 32 random bytes).  NULL on failure (err set). */
struct atv_srp_server *atv_srp_server_new(const char *user, const char *password,
					  const uint8_t *salt, size_t saltlen, const uint8_t *priv,
					  size_t privlen, struct atv_err *err);

/* The salt and our public value B (valid until free). */
size_t atv_srp_server_salt(const struct atv_srp_server *s, const uint8_t **salt);
size_t atv_srp_server_public(const struct atv_srp_server *s, const uint8_t **b);

/* Take the client's A and proof M1: -ATV_E_AUTH when the proof does not
 * match (a wrong password), -ATV_E_PROTO for an invalid A. */
int atv_srp_server_verify(struct atv_srp_server *s, const uint8_t *a, size_t alen,
			  const uint8_t *m1, size_t m1len, struct atv_err *err);

/* Our proof M2 and the session key K, once verify succeeded, else NULL. */
const uint8_t *atv_srp_server_proof(const struct atv_srp_server *s);
const uint8_t *atv_srp_server_key(const struct atv_srp_server *s);

void atv_srp_server_free(struct atv_srp_server *s);

/* For tests only, never for pairing.  RFC 5054 Appendix B's SRP vector uses
 * the RFC's 1024-bit group (g = 2) and SHA-1, so the SRP code above takes the
 * group and hash as internal parameters, and this runs one whole exchange
 * (client and server, proofs included) through it with those parameters.
 * user, password, salt and the exponents a and b are the vector's inputs;
 * every intermediate is copied to t as big-endian bytes without leading
 * zeros: k, x (as the client derives it), v, A, B, u, and S as the client
 * and the server each compute it.  0 when the two sides' proofs agree. */
struct atv_srp_trace_val {
	uint8_t p[ATV_SRP_MAX_LEN];
	size_t len;
};

struct atv_srp_trace {
	struct atv_srp_trace_val k, x, v, a, b, u, s_client, s_server;
};

int atv_srp_rfc5054_trace(const char *user, const char *password, const uint8_t *salt,
			  size_t saltlen, const uint8_t *a, size_t alen, const uint8_t *b,
			  size_t blen, struct atv_srp_trace *t, struct atv_err *err);

#endif
