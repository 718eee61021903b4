/* crypto.c - OpenSSL 3 primitives for HAP, and SRP-6a written on BIGNUM.
 *
 * OpenSSL's own SRP_* functions are deprecated in 3.0 and hash with SHA-1
 * only (SRP_Calc_u gives a 160-bit u), while HAP needs SHA-512, so the
 * SRP-6a math is done here by hand with BN_mod_exp and friends. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <pthread.h>
#include <sys/random.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "banned.h"

/* Record a failed OpenSSL call: drop its error queue (so it does not leak
 * into a later, unrelated failure) and set err. */
/* OpenSSL initialises itself on first use, reading openssl.cnf and
 * registering an atexit cleanup: together about 2 ms of every command's
 * start and end.  We use only built-in algorithms of the default provider,
 * so skip both (a CLI's memory is returned by the kernel at exit). */
static void crypto_init_once(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, NULL);
}

static void crypto_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, crypto_init_once);
}

static int ossl_fail(struct atv_err *err, int code, const char *what)
{
	ERR_clear_error();
	return atv_err_set(err, code, "%s failed", what);
}

void atv_crypto_wipe(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}

int atv_crypto_memcmp(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n);
}

int atv_random(void *p, size_t n, struct atv_err *err)
{
	/* The kernel's CSPRNG directly: OpenSSL's RAND_bytes would seed a DRBG
	 * from the same source, after fetching and instantiating it (a third
	 * of a command's CPU time). */
	uint8_t *q = p;

	while (n > 0) {
		ssize_t r = getrandom(q, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return atv_err_sys(err, ATV_E_IO, errno, "unable to get random bytes");
		}
		q += r;
		n -= (size_t)r;
	}
	return 0;
}

int atv_uuid(char out[ATV_UUID_SIZE], struct atv_err *err)
{
	uint8_t r[16];
	int rc = atv_random(r, sizeof r, err);

	if (rc < 0)
		return rc;
	r[6] = (uint8_t)((r[6] & 0x0f) | 0x40); /* RFC 4122 4.4: version 4 */
	r[8] = (uint8_t)((r[8] & 0x3f) | 0x80); /* variant 10xx */
	snprintf(out, ATV_UUID_SIZE,
		 "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X", r[0], r[1],
		 r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
		 r[15]);
	return 0;
}

/* A list of byte strings hashed one after the other. */
struct part {
	const void *p;
	size_t n;
};

/* out = H(parts) for the digest type (SRP takes H as a parameter); out has
 * room for EVP_MD_get_size(type) bytes. */
static int digest_parts(const EVP_MD *type, const struct part *parts, size_t nparts, uint8_t *out,
			struct atv_err *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int len = 0;
	int r = -ATV_E_NOMEM;

	if (!md)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	if (EVP_DigestInit_ex(md, type, NULL) != 1)
		goto fail;
	for (size_t i = 0; i < nparts; i++)
		if (parts[i].n && EVP_DigestUpdate(md, parts[i].p, parts[i].n) != 1)
			goto fail;
	if (EVP_DigestFinal_ex(md, out, &len) != 1 || (int)len != EVP_MD_get_size(type))
		goto fail;
	r = 0;
	goto out;
fail:
	r = ossl_fail(err, ATV_E_NOMEM, "hash");
out:
	EVP_MD_CTX_free(md);
	return r;
}

int atv_sha256(const void *p, size_t n, uint8_t out[ATV_SHA256_LEN], struct atv_err *err)
{
	crypto_init();
	if (!EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL))
		return atv_err_set(err, ATV_E_NOMEM, "sha-256 failed");
	return 0;
}

int atv_sha512(const void *p, size_t n, uint8_t out[ATV_SHA512_LEN], struct atv_err *err)
{
	struct part part = {p, n};

	crypto_init();
	return digest_parts(EVP_sha512(), &part, 1, out, err);
}

int atv_crypto_md5(const void *p, size_t n, uint8_t out[ATV_MD5_LEN], struct atv_err *err)
{
	unsigned int len = 0;

	crypto_init();
	if (EVP_Digest(p, n, out, &len, EVP_md5(), NULL) != 1 || len != ATV_MD5_LEN)
		return ossl_fail(err, ATV_E_NOMEM, "md5");
	return 0;
}

int atv_hkdf_sha512(const void *ikm, size_t ikmlen, const void *salt, size_t saltlen,
		    const void *info, size_t infolen, uint8_t *out, size_t outlen,
		    struct atv_err *err)
{
	OSSL_PARAM params[5], *p = params;
	EVP_KDF *kdf;
	EVP_KDF_CTX *ctx = NULL;
	int r = 0;

	crypto_init();
	/* RFC 5869: L <= 255 * HashLen */
	if (!ikmlen || !outlen || outlen > 255 * ATV_SHA512_LEN)
		return atv_err_set(err, ATV_E_USAGE, "bad hkdf lengths");
	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	if (kdf)
		ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (!ctx)
		return ossl_fail(err, ATV_E_NOMEM, "hkdf setup");
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA512", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikmlen);
	/* An absent salt is HashLen zero bytes (RFC 5869 2.2), which gives
	 * the same HMAC key as an empty one. */
	if (saltlen)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
							 saltlen);
	if (infolen)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
							 infolen);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, outlen, params) != 1)
		r = ossl_fail(err, ATV_E_NOMEM, "hkdf");
	EVP_KDF_CTX_free(ctx);
	return r;
}

int atv_hkdf(const void *ikm, size_t ikmlen, const char *salt, const char *info,
	     uint8_t out[ATV_AEAD_KEY_LEN], struct atv_err *err)
{
	return atv_hkdf_sha512(ikm, ikmlen, salt, strlen(salt), info, strlen(info), out,
			       ATV_AEAD_KEY_LEN, err);
}

void atv_nonce_label(uint8_t nonce[ATV_AEAD_NONCE_LEN], const char *label)
{
	size_t n = strnlen(label, ATV_AEAD_NONCE_LEN);

	memset(nonce, 0, ATV_AEAD_NONCE_LEN);
	memcpy(nonce + ATV_AEAD_NONCE_LEN - n, label, n);
}

void atv_nonce_counter(uint8_t nonce[ATV_AEAD_NONCE_LEN], uint64_t counter)
{
	memset(nonce, 0, 4);
	for (int i = 4; i < ATV_AEAD_NONCE_LEN; i++, counter >>= 8)
		nonce[i] = (uint8_t)counter;
}

/* Set up ctx for ChaCha20-Poly1305 with key and nonce, and feed the AAD. */
static int aead_init(EVP_CIPHER_CTX *ctx, int enc, const uint8_t *key, const uint8_t *nonce,
		     const void *aad, size_t aadlen)
{
	int n;

	if (EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, ATV_AEAD_NONCE_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1)
		return -1;
	if (aadlen && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
		return -1;
	return 0;
}

int atv_aead_seal(const uint8_t key[ATV_AEAD_KEY_LEN], const uint8_t nonce[ATV_AEAD_NONCE_LEN],
		  const void *aad, size_t aadlen, const void *pt, size_t ptlen, uint8_t *out,
		  struct atv_err *err)
{
	EVP_CIPHER_CTX *ctx;
	int n = 0, fin = 0, r = 0;

	crypto_init();
	if (ptlen > INT_MAX - ATV_AEAD_TAG_LEN || aadlen > INT_MAX)
		return atv_err_set(err, ATV_E_LIMIT, "message too large to encrypt");
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	if (aead_init(ctx, 1, key, nonce, aad, aadlen) < 0 ||
	    (ptlen && EVP_EncryptUpdate(ctx, out, &n, pt, (int)ptlen) != 1) ||
	    EVP_EncryptFinal_ex(ctx, out + n, &fin) != 1 || (size_t)n + (size_t)fin != ptlen ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, ATV_AEAD_TAG_LEN, out + ptlen) != 1)
		r = ossl_fail(err, ATV_E_NOMEM, "chacha20-poly1305 encryption");
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

int atv_aead_open(const uint8_t key[ATV_AEAD_KEY_LEN], const uint8_t nonce[ATV_AEAD_NONCE_LEN],
		  const void *aad, size_t aadlen, const void *ct, size_t ctlen, uint8_t *out,
		  struct atv_err *err)
{
	uint8_t tag[ATV_AEAD_TAG_LEN], none[1];
	EVP_CIPHER_CTX *ctx;
	size_t len;
	int n = 0, fin = 0, r = 0;

	crypto_init();
	if (!out)
		out = none; /* an empty plaintext may have nowhere to go */
	if (ctlen < ATV_AEAD_TAG_LEN)
		return atv_err_set(err, ATV_E_PROTO, "encrypted data shorter than its tag");
	if (ctlen > INT_MAX || aadlen > INT_MAX)
		return atv_err_set(err, ATV_E_LIMIT, "encrypted message too large");
	len = ctlen - ATV_AEAD_TAG_LEN;
	memcpy(tag, (const uint8_t *)ct + len, sizeof tag);
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return atv_err_set(err, ATV_E_NOMEM, "out of memory");
	if (aead_init(ctx, 0, key, nonce, aad, aadlen) < 0 ||
	    (len && EVP_DecryptUpdate(ctx, out, &n, ct, (int)len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, ATV_AEAD_TAG_LEN, tag) != 1) {
		r = ossl_fail(err, ATV_E_NOMEM, "chacha20-poly1305 decryption");
	} else if (EVP_DecryptFinal_ex(ctx, out + n, &fin) != 1 || (size_t)n + (size_t)fin != len) {
		/* never hand out plaintext that failed authentication */
		atv_crypto_wipe(out, len);
		ERR_clear_error();
		r = atv_err_set(err, ATV_E_AUTH, "message authentication failed");
	}
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

/* An EVP_PKEY from a raw 32-byte private key (X25519) or seed (Ed25519). */
static EVP_PKEY *raw_private(int type, const uint8_t *key, struct atv_err *err)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(type, NULL, key, 32);

	if (!k)
		ossl_fail(err, ATV_E_NOMEM, "private key setup");
	return k;
}

static int raw_public_of(int type, const uint8_t *priv, uint8_t *pub, struct atv_err *err)
{
	EVP_PKEY *k = raw_private(type, priv, err);
	size_t len = 32;
	int r = 0;

	if (!k)
		return -ATV_E_NOMEM;
	if (EVP_PKEY_get_raw_public_key(k, pub, &len) != 1 || len != 32)
		r = ossl_fail(err, ATV_E_NOMEM, "public key computation");
	EVP_PKEY_free(k);
	return r;
}

int atv_x25519_pub(const uint8_t priv[ATV_X25519_LEN], uint8_t pub[ATV_X25519_LEN],
		   struct atv_err *err)
{
	crypto_init();
	return raw_public_of(EVP_PKEY_X25519, priv, pub, err);
}

int atv_x25519_keygen(uint8_t priv[ATV_X25519_LEN], uint8_t pub[ATV_X25519_LEN],
		      struct atv_err *err)
{
	int r = atv_random(priv, ATV_X25519_LEN, err);

	crypto_init();
	if (r == 0)
		r = atv_x25519_pub(priv, pub, err);
	if (r < 0)
		atv_crypto_wipe(priv, ATV_X25519_LEN);
	return r;
}

int atv_x25519_derive(const uint8_t priv[ATV_X25519_LEN], const uint8_t peer[ATV_X25519_LEN],
		      uint8_t shared[ATV_X25519_LEN], struct atv_err *err)
{
	crypto_init();
	static const uint8_t zero[ATV_X25519_LEN];
	EVP_PKEY *k = raw_private(EVP_PKEY_X25519, priv, err), *pk = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	size_t len = ATV_X25519_LEN;
	int r = -ATV_E_NOMEM;

	if (!k)
		goto out;
	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, ATV_X25519_LEN);
	ctx = EVP_PKEY_CTX_new(k, NULL);
	if (!pk || !ctx || EVP_PKEY_derive_init(ctx) != 1) {
		r = ossl_fail(err, ATV_E_NOMEM, "x25519 setup");
		goto out;
	}
	/* OpenSSL itself refuses a peer key that yields the all-zero secret;
	 * check again so that never depends on the library version. */
	if (EVP_PKEY_derive_set_peer(ctx, pk) != 1 || EVP_PKEY_derive(ctx, shared, &len) != 1 ||
	    len != ATV_X25519_LEN || CRYPTO_memcmp(shared, zero, len) == 0) {
		atv_crypto_wipe(shared, ATV_X25519_LEN);
		r = ossl_fail(err, ATV_E_PROTO, "x25519 with the peer's key");
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(k);
	return r;
}

int atv_ed25519_pub(const uint8_t seed[ATV_ED25519_SEED_LEN], uint8_t pub[ATV_ED25519_PUB_LEN],
		    struct atv_err *err)
{
	crypto_init();
	return raw_public_of(EVP_PKEY_ED25519, seed, pub, err);
}

int atv_ed25519_keygen(uint8_t seed[ATV_ED25519_SEED_LEN], uint8_t pub[ATV_ED25519_PUB_LEN],
		       struct atv_err *err)
{
	int r = atv_random(seed, ATV_ED25519_SEED_LEN, err);

	crypto_init();
	if (r == 0)
		r = atv_ed25519_pub(seed, pub, err);
	if (r < 0)
		atv_crypto_wipe(seed, ATV_ED25519_SEED_LEN);
	return r;
}

int atv_ed25519_sign(const uint8_t seed[ATV_ED25519_SEED_LEN], const void *msg, size_t len,
		     uint8_t sig[ATV_ED25519_SIG_LEN], struct atv_err *err)
{
	EVP_PKEY *k;
	EVP_MD_CTX *md;
	size_t siglen = ATV_ED25519_SIG_LEN;
	int r = 0;

	crypto_init();
	k = raw_private(EVP_PKEY_ED25519, seed, err);
	md = EVP_MD_CTX_new();
	if (!k || !md) {
		r = atv_err_set(err, ATV_E_NOMEM, "out of memory");
		goto out;
	}
	if (EVP_DigestSignInit(md, NULL, NULL, NULL, k) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, msg ? msg : "", len) != 1 ||
	    siglen != ATV_ED25519_SIG_LEN)
		r = ossl_fail(err, ATV_E_NOMEM, "ed25519 signing");
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return r;
}

int atv_ed25519_verify(const uint8_t pub[ATV_ED25519_PUB_LEN], const void *msg, size_t len,
		       const uint8_t sig[ATV_ED25519_SIG_LEN], struct atv_err *err)
{
	EVP_PKEY *k;
	EVP_MD_CTX *md;
	int r = 0;

	crypto_init();
	k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
	md = EVP_MD_CTX_new();
	if (!k || !md) {
		r = ossl_fail(err, ATV_E_NOMEM, "ed25519 key setup");
		goto out;
	}
	if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, k) != 1) {
		r = ossl_fail(err, ATV_E_NOMEM, "ed25519 verification setup");
		goto out;
	}
	if (EVP_DigestVerify(md, sig, ATV_ED25519_SIG_LEN, msg ? msg : "", len) != 1) {
		ERR_clear_error();
		r = atv_err_set(err, ATV_E_AUTH, "bad ed25519 signature");
	}
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return r;
}

/*
 * SRP-6a for HAP pair-setup.  Group: RFC 5054 3072-bit N (the same prime as
 * RFC 3526 group 15, which OpenSSL exports un-deprecated), g = 5.  H is
 * SHA-512 and I is "Pair-Setup".  The formulas, with the byte forms that
 * srptools (the library behind pyatv, known to pair with Apple TVs) uses:
 *
 *   k  = H(N | PAD(g))              PAD = left-padded to the length of N
 *   x  = H(s | H(I ":" P))          s = the salt bytes as received
 *   u  = H(PAD(A) | PAD(B))
 *   v  = g^x,  A = g^a,  B = k*v + g^b          (all mod N)
 *   S  = (B - k*v)^(a + u*x) = (A * v^u)^b      (mod N)
 *   K  = H(S)
 *   M1 = H((H(N) xor H(g)) | H(I) | s | A | B | K)
 *   M2 = H(A | M1 | K)
 *
 * Every integer that is hashed without PAD -- S, A and B in M1 and M2, and
 * g inside H(g) -- is its minimal big-endian form (no leading zero bytes):
 * srptools converts Python ints with a hex round trip that drops them.  For
 * the same reason H(N) xor H(g) and H(I) enter M1 as integers, i.e. without
 * leading zero bytes; for this N, g and I neither has one, but trimming
 * keeps us right for any input.  Our A goes on the wire in the same minimal
 * form, as pyatv sends it, so a peer that hashes the received bytes as they
 * are agrees with one that hashes the integer.
 *
 * The group and H are a struct srp_params.  The public API only ever uses
 * HomeKit's; the second set, RFC 5054's 1024-bit group with SHA-1, exists so
 * that the tests can run this very code against RFC 5054 Appendix B, whose
 * k, x, v, A, B, u and S follow the formulas above (K, M1 and M2 are not in
 * the RFC: those stay the srptools conventions).
 */
#define SRP_PRIV_LEN 32 /* RFC 5054 asks for at least 256 random bits */
#define SRP_SALT_LEN 16 /* what Apple devices send */
#define SRP_SALT_MAX 64

struct srp_params {
	BIGNUM *(*prime)(BIGNUM *bn); /* N; a new BIGNUM when bn is NULL */
	unsigned int gen;	      /* g */
	const EVP_MD *(*md)(void);    /* H, at most ATV_SHA512_LEN bytes */
};

/* RFC 5054 Appendix A, the 1024-bit group (g = 2). */
static BIGNUM *srp_prime_1024(BIGNUM *bn)
{
	static const char hex[] =
		"EEAF0AB9ADB38DD69C33F80AFA8FC5E86072618775FF3C0B9EA2314C9C256576"
		"D674DF7496EA81D3383B4813D692C6E0E0D5D8E250B98BE48E495C1D6089DAD1"
		"5DC7D7B46154D6B6CE8EF4AD69B15D4982559B297BCF1885C529F566660E57EC"
		"68EDBC3C05726CC02FD4CBF4976EAA9AFD5138FE8376435B9FC61D2FC0EB06E3";

	return BN_hex2bn(&bn, hex) == (int)sizeof hex - 1 ? bn : NULL;
}

static const struct srp_params srp_homekit = {BN_get_rfc3526_prime_3072, 5, EVP_sha512};
static const struct srp_params srp_rfc5054_1024 = {srp_prime_1024, 2, EVP_sha1};

struct srp_common {
	BN_CTX *bn;
	const EVP_MD *md;
	size_t hlen; /* the length of H's output */
	BIGNUM *n, *g, *k;
	size_t nlen;		     /* the length of N: PAD's width */
	uint8_t hng[ATV_SHA512_LEN]; /* H(N) xor H(g), minimal */
	size_t hnglen;
	uint8_t hi[ATV_SHA512_LEN]; /* H(I), minimal */
	size_t hilen;
	uint8_t hip[ATV_SHA512_LEN]; /* H(I ":" P): stands in for the password */
	uint8_t salt[SRP_SALT_MAX];
	size_t saltlen;
	uint8_t a[ATV_SRP_MAX_LEN], b[ATV_SRP_MAX_LEN]; /* A and B, minimal */
	size_t alen, blen;
	uint8_t key[ATV_SRP_KEY_LEN], m1[ATV_SRP_PROOF_LEN], m2[ATV_SRP_PROOF_LEN];
	int have_proofs;	     /* key, m1 and m2 computed */
	int verified;		     /* the peer's proof matched */
	struct atv_srp_trace *trace; /* tests only: where to copy x, u and S */
};

struct atv_srp_client {
	struct srp_common c;
	BIGNUM *priv; /* a */
};

struct atv_srp_server {
	struct srp_common c;
	BIGNUM *priv; /* b */
	BIGNUM *v;    /* the verifier */
};

static int srp_nomem(struct atv_err *err)
{
	ERR_clear_error();
	return atv_err_set(err, ATV_E_NOMEM, "out of memory in srp");
}

/* x as big-endian bytes into out (ATV_SRP_MAX_LEN bytes), left-padded with
 * zeros to pad bytes or, when pad is 0, minimal; the length through len. */
static int bn_bytes(const BIGNUM *x, size_t pad, uint8_t out[ATV_SRP_MAX_LEN], size_t *len)
{
	int n;

	if (BN_num_bytes(x) > ATV_SRP_MAX_LEN || pad > ATV_SRP_MAX_LEN)
		return -1;
	n = pad ? BN_bn2binpad(x, out, (int)pad) : BN_bn2bin(x, out);
	if (n < 0)
		return -1;
	*len = (size_t)n;
	return 0;
}

/* Tests only: keep a copy of an intermediate value in a trace slot. */
static void srp_record(struct atv_srp_trace_val *slot, const BIGNUM *x)
{
	if (bn_bytes(x, 0, slot->p, &slot->len) < 0)
		slot->len = 0;
}

/* A digest used as an integer in a hash: without its leading zero bytes. */
static size_t trim_leading_zeros(uint8_t *p, size_t n)
{
	size_t z = 0;

	while (z < n && p[z] == 0)
		z++;
	memmove(p, p + z, n - z);
	return n - z;
}

/* bn = H(parts), read as a big-endian integer. */
static int hash_to_bn(const struct srp_common *c, const struct part *parts, size_t nparts,
		      BIGNUM **bn, struct atv_err *err)
{
	uint8_t h[ATV_SHA512_LEN];
	int r = digest_parts(c->md, parts, nparts, h, err);

	if (r < 0)
		return r;
	*bn = BN_bin2bn(h, (int)c->hlen, NULL);
	atv_crypto_wipe(h, sizeof h);
	return *bn ? 0 : srp_nomem(err);
}

/* out = H(p[0..n)), hlen bytes. */
static int srp_hash(const struct srp_common *c, const void *p, size_t n, uint8_t *out,
		    struct atv_err *err)
{
	struct part part = {p, n};

	return digest_parts(c->md, &part, 1, out, err);
}

static int srp_constants(struct srp_common *c, const char *user, struct atv_err *err)
{
	uint8_t np[ATV_SRP_MAX_LEN], gp[ATV_SRP_MAX_LEN], hg[ATV_SHA512_LEN];
	size_t nlen, glen;
	struct part kparts[2];
	int r;

	if (bn_bytes(c->n, c->nlen, np, &nlen) < 0 || bn_bytes(c->g, c->nlen, gp, &glen) < 0)
		return srp_nomem(err);
	kparts[0] = (struct part){np, nlen};
	kparts[1] = (struct part){gp, glen};
	r = hash_to_bn(c, kparts, 2, &c->k, err);
	if (r < 0)
		return r;
	/* H(g) of the unpadded generator, as srptools (and so HAP) does */
	if (bn_bytes(c->g, 0, gp, &glen) < 0)
		return srp_nomem(err);
	r = srp_hash(c, np, nlen, c->hng, err);
	if (r == 0)
		r = srp_hash(c, gp, glen, hg, err);
	if (r == 0)
		r = srp_hash(c, user, strlen(user), c->hi, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->hlen; i++)
		c->hng[i] ^= hg[i];
	c->hnglen = trim_leading_zeros(c->hng, c->hlen);
	c->hilen = trim_leading_zeros(c->hi, c->hlen);
	return 0;
}

static int srp_init(struct srp_common *c, const struct srp_params *params, const char *user,
		    const char *password, struct atv_err *err)
{
	struct part ip[3] = {{user, strlen(user)}, {":", 1}, {password, strlen(password)}};
	int hlen, r;

	c->md = params->md();
	hlen = c->md ? EVP_MD_get_size(c->md) : -1;
	if (hlen <= 0 || hlen > ATV_SHA512_LEN)
		return atv_err_set(err, ATV_E_USAGE, "unusable srp hash");
	c->hlen = (size_t)hlen;
	c->bn = BN_CTX_secure_new();
	c->n = params->prime(NULL);
	c->g = BN_new();
	if (!c->bn || !c->n || !c->g || BN_set_word(c->g, params->gen) != 1)
		return srp_nomem(err);
	if (BN_num_bytes(c->n) > ATV_SRP_MAX_LEN)
		return atv_err_set(err, ATV_E_USAGE, "srp group too large");
	c->nlen = (size_t)BN_num_bytes(c->n);
	r = srp_constants(c, user, err);
	if (r == 0)
		r = digest_parts(c->md, ip, 3, c->hip, err);
	return r;
}

static void srp_release(struct srp_common *c)
{
	BN_CTX_free(c->bn);
	BN_free(c->n);
	BN_free(c->g);
	BN_free(c->k);
	OPENSSL_cleanse(c, sizeof *c);
}

/* A secret exponent: given (tests) or SRP_PRIV_LEN random bytes. */
static BIGNUM *srp_private(const uint8_t *priv, size_t len, struct atv_err *err)
{
	uint8_t rnd[SRP_PRIV_LEN];
	BIGNUM *x;

	if (priv && (len == 0 || len > ATV_SRP_MAX_LEN)) {
		atv_err_set(err, ATV_E_USAGE, "bad srp private value length");
		return NULL;
	}
	if (!priv) {
		if (atv_random(rnd, sizeof rnd, err) < 0)
			return NULL;
		priv = rnd;
		len = sizeof rnd;
	}
	x = BN_secure_new();
	if (!x || !BN_bin2bn(priv, (int)len, x)) {
		BN_clear_free(x);
		x = NULL;
		srp_nomem(err);
	} else {
		BN_set_flags(x, BN_FLG_CONSTTIME);
	}
	atv_crypto_wipe(rnd, sizeof rnd);
	return x;
}

static int srp_set_salt(struct srp_common *c, const uint8_t *salt, size_t len, struct atv_err *err)
{
	if (!len || len > SRP_SALT_MAX)
		return atv_err_set(err, ATV_E_PROTO, "bad srp salt length %zu", len);
	memcpy(c->salt, salt, len);
	c->saltlen = len;
	return 0;
}

/* Read the peer's public value (A or B): it must lie in [1, N-1]. */
static int srp_peer_public(struct srp_common *c, const uint8_t *p, size_t len, BIGNUM **out,
			   struct atv_err *err)
{
	if (!len || len > ATV_SRP_MAX_LEN)
		return atv_err_set(err, ATV_E_PROTO, "bad srp public key length %zu", len);
	*out = BN_bin2bn(p, (int)len, NULL);
	if (!*out)
		return srp_nomem(err);
	if (BN_is_zero(*out) || BN_cmp(*out, c->n) >= 0)
		return atv_err_set(err, ATV_E_PROTO, "invalid srp public key");
	return 0;
}

/* x = H(s | H(I ":" P)), a secret. */
static int srp_x(struct srp_common *c, BIGNUM **x, struct atv_err *err)
{
	struct part parts[2] = {{c->salt, c->saltlen}, {c->hip, c->hlen}};
	int r = hash_to_bn(c, parts, 2, x, err);

	if (r == 0) {
		BN_set_flags(*x, BN_FLG_CONSTTIME);
		if (c->trace)
			srp_record(&c->trace->x, *x);
	}
	return r;
}

/* u = H(PAD(A) | PAD(B)); a zero u would let the peer cancel the password
 * out of S (RFC 5054 2.6), so refuse it. */
static int srp_u(struct srp_common *c, const BIGNUM *a, const BIGNUM *b, BIGNUM **u,
		 struct atv_err *err)
{
	uint8_t pa[ATV_SRP_MAX_LEN], pb[ATV_SRP_MAX_LEN];
	size_t la, lb;
	struct part parts[2];
	int r;

	if (bn_bytes(a, c->nlen, pa, &la) < 0 || bn_bytes(b, c->nlen, pb, &lb) < 0)
		return srp_nomem(err);
	parts[0] = (struct part){pa, la};
	parts[1] = (struct part){pb, lb};
	r = hash_to_bn(c, parts, 2, u, err);
	if (r == 0 && c->trace)
		srp_record(&c->trace->u, *u);
	if (r == 0 && BN_is_zero(*u))
		r = atv_err_set(err, ATV_E_PROTO, "srp scrambling parameter is zero");
	return r;
}

/* From S: K = H(S), M1 and M2 (c->a and c->b already hold A and B). */
static int srp_proofs(struct srp_common *c, const BIGNUM *s, struct atv_err *err)
{
	uint8_t sb[ATV_SRP_MAX_LEN];
	size_t slen;
	struct part m1[6] = {
		{c->hng, c->hnglen}, {c->hi, c->hilen}, {c->salt, c->saltlen},
		{c->a, c->alen},     {c->b, c->blen},	{c->key, c->hlen},
	};
	struct part m2[3] = {{c->a, c->alen}, {c->m1, c->hlen}, {c->key, c->hlen}};
	int r;

	if (bn_bytes(s, 0, sb, &slen) < 0)
		return srp_nomem(err);
	r = srp_hash(c, sb, slen, c->key, err);
	atv_crypto_wipe(sb, sizeof sb);
	if (r == 0)
		r = digest_parts(c->md, m1, 6, c->m1, err);
	if (r == 0)
		r = digest_parts(c->md, m2, 3, c->m2, err);
	c->have_proofs = r == 0;
	return r;
}

static struct atv_srp_client *srp_client_new(const struct srp_params *params, const char *user,
					     const char *password, const uint8_t *priv,
					     size_t privlen, struct atv_err *err)
{
	struct atv_srp_client *c = calloc(1, sizeof *c);
	BIGNUM *a = NULL;

	crypto_init();
	if (!c) {
		atv_err_set(err, ATV_E_NOMEM, "out of memory");
		return NULL;
	}
	if (srp_init(&c->c, params, user, password, err) < 0)
		goto fail;
	c->priv = srp_private(priv, privlen, err);
	if (!c->priv)
		goto fail;
	a = BN_new();
	if (!a || BN_mod_exp(a, c->c.g, c->priv, c->c.n, c->c.bn) != 1 ||
	    bn_bytes(a, 0, c->c.a, &c->c.alen) < 0) {
		srp_nomem(err);
		goto fail;
	}
	BN_free(a);
	return c;
fail:
	BN_free(a);
	atv_srp_client_free(c);
	return NULL;
}

struct atv_srp_client *atv_srp_client_new(const char *user, const char *password,
					  const uint8_t *priv, size_t privlen, struct atv_err *err)
{
	return srp_client_new(&srp_homekit, user, password, priv, privlen, err);
}

size_t atv_srp_client_public(const struct atv_srp_client *c, const uint8_t **a)
{
	*a = c->c.a;
	return c->c.alen;
}

/* S = (B - k*v)^(a + u*x) mod N for the client. */
static int srp_client_secret(struct atv_srp_client *c, const BIGNUM *b, const BIGNUM *u,
			     const BIGNUM *x, BIGNUM *s, struct atv_err *err)
{
	struct srp_common *m = &c->c;
	BIGNUM *v = BN_secure_new(), *base = BN_secure_new(), *e = BN_secure_new();
	int r = 0;

	if (!v || !base || !e)
		goto fail;
	if (BN_mod_exp(v, m->g, x, m->n, m->bn) != 1 ||
	    BN_mod_mul(base, m->k, v, m->n, m->bn) != 1 ||
	    BN_mod_sub(base, b, base, m->n, m->bn) != 1 || BN_mul(e, u, x, m->bn) != 1 ||
	    BN_add(e, e, c->priv) != 1)
		goto fail;
	BN_set_flags(e, BN_FLG_CONSTTIME);
	if (BN_mod_exp(s, base, e, m->n, m->bn) != 1)
		goto fail;
	if (m->trace)
		srp_record(&m->trace->s_client, s);
	goto out;
fail:
	r = srp_nomem(err);
out:
	BN_clear_free(v);
	BN_clear_free(base);
	BN_clear_free(e);
	return r;
}

int atv_srp_client_process(struct atv_srp_client *c, const uint8_t *salt, size_t saltlen,
			   const uint8_t *b, size_t blen, struct atv_err *err)
{
	struct srp_common *m = &c->c;
	BIGNUM *bb = NULL, *a = NULL, *u = NULL, *x = NULL, *s = NULL;
	int r;

	m->have_proofs = m->verified = 0;
	r = srp_set_salt(m, salt, saltlen, err);
	if (r == 0)
		r = srp_peer_public(m, b, blen, &bb, err);
	if (r < 0)
		goto out;
	a = BN_bin2bn(m->a, (int)m->alen, NULL);
	s = BN_secure_new();
	if (!a || !s || bn_bytes(bb, 0, m->b, &m->blen) < 0) {
		r = srp_nomem(err);
		goto out;
	}
	r = srp_u(m, a, bb, &u, err);
	if (r == 0)
		r = srp_x(m, &x, err);
	if (r == 0)
		r = srp_client_secret(c, bb, u, x, s, err);
	if (r == 0)
		r = srp_proofs(m, s, err);
out:
	BN_free(bb);
	BN_free(a);
	BN_free(u);
	BN_clear_free(x);
	BN_clear_free(s);
	return r;
}

const uint8_t *atv_srp_client_proof(const struct atv_srp_client *c)
{
	return c->c.have_proofs ? c->c.m1 : NULL;
}

int atv_srp_client_verify(struct atv_srp_client *c, const uint8_t *m2, size_t len,
			  struct atv_err *err)
{
	if (!c->c.have_proofs)
		return atv_err_set(err, ATV_E_USAGE, "srp proof checked before processing");
	if (len != c->c.hlen || CRYPTO_memcmp(m2, c->c.m2, len) != 0)
		return atv_err_set(err, ATV_E_AUTH, "srp server proof mismatch");
	c->c.verified = 1;
	return 0;
}

const uint8_t *atv_srp_client_key(const struct atv_srp_client *c)
{
	return c->c.verified ? c->c.key : NULL;
}

void atv_srp_client_free(struct atv_srp_client *c)
{
	if (!c)
		return;
	BN_clear_free(c->priv);
	srp_release(&c->c);
	free(c);
}

/* The verifier v = g^x and B = (k*v + g^b) mod N. */
static int srp_server_public(struct atv_srp_server *s, struct atv_err *err)
{
	struct srp_common *m = &s->c;
	BIGNUM *x = NULL, *gb = BN_new(), *b = BN_new();
	int r;

	s->v = BN_secure_new();
	if (!gb || !b || !s->v) {
		r = srp_nomem(err);
		goto out;
	}
	r = srp_x(m, &x, err);
	if (r < 0)
		goto out;
	if (BN_mod_exp(s->v, m->g, x, m->n, m->bn) != 1 ||
	    BN_mod_exp(gb, m->g, s->priv, m->n, m->bn) != 1 ||
	    BN_mod_mul(b, m->k, s->v, m->n, m->bn) != 1 || BN_mod_add(b, b, gb, m->n, m->bn) != 1 ||
	    bn_bytes(b, 0, m->b, &m->blen) < 0)
		r = srp_nomem(err);
	else if (BN_is_zero(b))
		r = atv_err_set(err, ATV_E_USAGE, "srp server public value is zero");
out:
	BN_clear_free(x);
	BN_clear_free(gb);
	BN_free(b);
	return r;
}

static struct atv_srp_server *srp_server_new(const struct srp_params *params, const char *user,
					     const char *password, const uint8_t *salt,
					     size_t saltlen, const uint8_t *priv, size_t privlen,
					     struct atv_err *err)
{
	struct atv_srp_server *s = calloc(1, sizeof *s);
	uint8_t rnd[SRP_SALT_LEN];

	crypto_init();
	if (!s) {
		atv_err_set(err, ATV_E_NOMEM, "out of memory");
		return NULL;
	}
	if (!salt) {
		if (atv_random(rnd, sizeof rnd, err) < 0)
			goto fail;
		salt = rnd;
		saltlen = sizeof rnd;
	}
	if (srp_init(&s->c, params, user, password, err) < 0 ||
	    srp_set_salt(&s->c, salt, saltlen, err) < 0)
		goto fail;
	s->priv = srp_private(priv, privlen, err);
	if (!s->priv || srp_server_public(s, err) < 0)
		goto fail;
	return s;
fail:
	atv_srp_server_free(s);
	return NULL;
}

struct atv_srp_server *atv_srp_server_new(const char *user, const char *password,
					  const uint8_t *salt, size_t saltlen, const uint8_t *priv,
					  size_t privlen, struct atv_err *err)
{
	return srp_server_new(&srp_homekit, user, password, salt, saltlen, priv, privlen, err);
}

size_t atv_srp_server_salt(const struct atv_srp_server *s, const uint8_t **salt)
{
	*salt = s->c.salt;
	return s->c.saltlen;
}

size_t atv_srp_server_public(const struct atv_srp_server *s, const uint8_t **b)
{
	*b = s->c.b;
	return s->c.blen;
}

/* S = (A * v^u)^b mod N for the server. */
static int srp_server_secret(struct atv_srp_server *s, const BIGNUM *a, const BIGNUM *u,
			     BIGNUM *out, struct atv_err *err)
{
	struct srp_common *m = &s->c;
	BIGNUM *t = BN_secure_new();
	int r = 0;

	if (!t || BN_mod_exp(t, s->v, u, m->n, m->bn) != 1 ||
	    BN_mod_mul(t, a, t, m->n, m->bn) != 1 || BN_mod_exp(out, t, s->priv, m->n, m->bn) != 1)
		r = srp_nomem(err);
	else if (m->trace)
		srp_record(&m->trace->s_server, out);
	BN_clear_free(t);
	return r;
}

int atv_srp_server_verify(struct atv_srp_server *s, const uint8_t *a, size_t alen,
			  const uint8_t *m1, size_t m1len, struct atv_err *err)
{
	struct srp_common *m = &s->c;
	BIGNUM *aa = NULL, *bb = NULL, *u = NULL, *sec = NULL;
	int r;

	m->have_proofs = m->verified = 0;
	r = srp_peer_public(m, a, alen, &aa, err);
	if (r < 0)
		goto out;
	bb = BN_bin2bn(m->b, (int)m->blen, NULL);
	sec = BN_secure_new();
	if (!bb || !sec || bn_bytes(aa, 0, m->a, &m->alen) < 0) {
		r = srp_nomem(err);
		goto out;
	}
	r = srp_u(m, aa, bb, &u, err);
	if (r == 0)
		r = srp_server_secret(s, aa, u, sec, err);
	if (r == 0)
		r = srp_proofs(m, sec, err);
	if (r == 0 && (m1len != m->hlen || CRYPTO_memcmp(m1, m->m1, m1len) != 0)) {
		atv_crypto_wipe(m->key, sizeof m->key);
		m->have_proofs = 0;
		r = atv_err_set(err, ATV_E_AUTH, "srp client proof mismatch (wrong password)");
	}
	m->verified = r == 0;
out:
	BN_free(aa);
	BN_free(bb);
	BN_free(u);
	BN_clear_free(sec);
	return r;
}

const uint8_t *atv_srp_server_proof(const struct atv_srp_server *s)
{
	return s->c.verified ? s->c.m2 : NULL;
}

const uint8_t *atv_srp_server_key(const struct atv_srp_server *s)
{
	return s->c.verified ? s->c.key : NULL;
}

void atv_srp_server_free(struct atv_srp_server *s)
{
	if (!s)
		return;
	BN_clear_free(s->priv);
	BN_clear_free(s->v);
	srp_release(&s->c);
	free(s);
}

/* Tests only: one whole exchange on RFC 5054's 1024-bit group with SHA-1,
 * through the same client and server code HAP uses, copying out each
 * intermediate; x, u and S are copied as the two sides compute them. */
int atv_srp_rfc5054_trace(const char *user, const char *password, const uint8_t *salt,
			  size_t saltlen, const uint8_t *a, size_t alen, const uint8_t *b,
			  size_t blen, struct atv_srp_trace *t, struct atv_err *err)
{
	struct atv_srp_client *c = NULL;
	struct atv_srp_server *s = NULL;
	struct atv_err e;
	int r;

	atv_err_clear(&e);
	memset(t, 0, sizeof *t);
	c = srp_client_new(&srp_rfc5054_1024, user, password, a, alen, &e);
	if (c)
		s = srp_server_new(&srp_rfc5054_1024, user, password, salt, saltlen, b, blen, &e);
	if (!c || !s) {
		r = -(e.code ? e.code : ATV_E_NOMEM);
		if (err)
			*err = e;
		goto out;
	}
	c->c.trace = s->c.trace = t;
	srp_record(&t->k, c->c.k);
	srp_record(&t->v, s->v);
	memcpy(t->a.p, c->c.a, c->c.alen);
	t->a.len = c->c.alen;
	memcpy(t->b.p, s->c.b, s->c.blen);
	t->b.len = s->c.blen;
	/* the proofs must agree too: both sides computed the same S and K */
	r = atv_srp_client_process(c, salt, saltlen, s->c.b, s->c.blen, err);
	if (r == 0)
		r = atv_srp_server_verify(s, c->c.a, c->c.alen, c->c.m1, c->c.hlen, err);
	if (r == 0)
		r = atv_srp_client_verify(c, s->c.m2, s->c.hlen, err);
out:
	atv_srp_client_free(c);
	atv_srp_server_free(s);
	return r;
}
