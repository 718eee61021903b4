/* test-crypto - the OpenSSL layer against published vectors, and SRP-6a
 * against RFC 5054 Appendix B and an independent Python computation
 * (cmocka). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"

/* Decode hex into a fresh buffer (the test owns it); length via n.  Spaces
 * are skipped, so values can be written in the RFCs' groups of 8 digits. */
static uint8_t *unhex(const char *s, size_t *n)
{
	size_t len = 0;
	uint8_t *p = malloc(strlen(s) / 2 + 1);

	assert_non_null(p);
	while (*s) {
		unsigned int v;

		if (*s == ' ') {
			s++;
			continue;
		}
		assert_int_equal(sscanf(s, "%2x", &v), 1);
		assert_true(s[1] != '\0' && s[1] != ' ');
		p[len++] = (uint8_t)v;
		s += 2;
	}
	if (n)
		*n = len;
	return p;
}

static void assert_hex(const uint8_t *p, size_t n, const char *hex)
{
	size_t len;
	uint8_t *want = unhex(hex, &len);

	assert_int_equal(n, len);
	assert_memory_equal(p, want, n);
	free(want);
}

static void assert_not_hex(const uint8_t *p, size_t n, const char *hex)
{
	size_t len;
	uint8_t *other = unhex(hex, &len);

	assert_true(n != len || memcmp(p, other, n) != 0);
	free(other);
}

static void test_sha512(void **state)
{
	uint8_t out[ATV_SHA512_LEN];

	(void)state;
	assert_int_equal(atv_sha512("abc", 3, out, NULL), 0);
	assert_hex(out, sizeof out,
		   "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
		   "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

/* RFC 5869's test cases 1 and 3 (inputs and structure) with SHA-512; the
 * outputs come from python3-cryptography's HKDF(SHA512()). */
static void test_hkdf(void **state)
{
	uint8_t ikm[22], salt[13], info[10], okm[42], key[32], k[64];
	struct atv_err err;

	(void)state;
	memset(ikm, 0x0b, sizeof ikm);
	for (size_t i = 0; i < sizeof salt; i++)
		salt[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof info; i++)
		info[i] = (uint8_t)(0xf0 + i);
	assert_int_equal(atv_hkdf_sha512(ikm, sizeof ikm, salt, sizeof salt, info, sizeof info, okm,
					 sizeof okm, NULL),
			 0);
	assert_hex(okm, sizeof okm,
		   "832390086cda71fb47625bb5ceb168e4c8e26a1a16ed34d9fc7fe92c14815793"
		   "38da362cb8d9f925d7cb");
	/* no salt, no info (Companion's salt is "") */
	assert_int_equal(atv_hkdf_sha512(ikm, sizeof ikm, NULL, 0, NULL, 0, okm, sizeof okm, NULL),
			 0);
	assert_hex(okm, sizeof okm,
		   "f5fa02b18298a72a8c23898a8703472c6eb179dc204c03425c970e3b164bf90f"
		   "ff22d04836d0e2343bac");
	/* the HAP form: strings, 32 bytes */
	for (size_t i = 0; i < sizeof k; i++)
		k[i] = (uint8_t)i;
	assert_int_equal(atv_hkdf(k, sizeof k, "Pair-Setup-Encrypt-Salt", "Pair-Setup-Encrypt-Info",
				  key, NULL),
			 0);
	assert_hex(key, sizeof key,
		   "b6335536162d6629e4c0bade85f1b712c85a364bab0dedb25014cfb814489273");
	assert_int_equal(atv_hkdf_sha512(NULL, 0, NULL, 0, NULL, 0, key, 32, &err), -ATV_E_USAGE);
}

/* RFC 8439 2.8.2 */
static const char sunscreen[] =
	"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
	"future, sunscreen would be it.";
static const char sunscreen_ct[] =
	"d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
	"3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
	"92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
	"3ff4def08e4b7a9de576d26586cec64b6116"
	"1ae10b594f09e26a7e902ecbd0600691";

static void test_aead(void **state)
{
	uint8_t key[32], *nonce, *aad, out[sizeof sunscreen - 1 + 16], back[sizeof out];
	size_t len = sizeof sunscreen - 1, nlen, alen;
	struct atv_err err;

	(void)state;
	for (size_t i = 0; i < sizeof key; i++)
		key[i] = (uint8_t)(0x80 + i);
	nonce = unhex("070000004041424344454647", &nlen);
	aad = unhex("50515253c0c1c2c3c4c5c6c7", &alen);
	assert_int_equal(atv_aead_seal(key, nonce, aad, alen, sunscreen, len, out, NULL), 0);
	assert_hex(out, sizeof out, sunscreen_ct);
	assert_int_equal(atv_aead_open(key, nonce, aad, alen, out, sizeof out, back, NULL), 0);
	assert_memory_equal(back, sunscreen, len);
	/* in place */
	assert_int_equal(atv_aead_open(key, nonce, aad, alen, out, sizeof out, out, NULL), 0);
	assert_memory_equal(out, sunscreen, len);
	assert_int_equal(atv_aead_seal(key, nonce, aad, alen, out, len, out, NULL), 0);
	assert_hex(out, sizeof out, sunscreen_ct);
	/* a flipped bit in the ciphertext, the tag or the AAD is refused */
	out[3] ^= 1;
	assert_int_equal(atv_aead_open(key, nonce, aad, alen, out, sizeof out, back, &err),
			 -ATV_E_AUTH);
	assert_int_equal(err.code, ATV_E_AUTH);
	out[3] ^= 1;
	out[sizeof out - 1] ^= 0x80;
	assert_int_equal(atv_aead_open(key, nonce, aad, alen, out, sizeof out, back, NULL),
			 -ATV_E_AUTH);
	out[sizeof out - 1] ^= 0x80;
	assert_int_equal(atv_aead_open(key, nonce, aad, alen - 1, out, sizeof out, back, NULL),
			 -ATV_E_AUTH);
	assert_int_equal(atv_aead_open(key, nonce, NULL, 0, out, 15, back, NULL), -ATV_E_PROTO);
	/* an empty plaintext is just a tag */
	assert_int_equal(atv_aead_seal(key, nonce, NULL, 0, "", 0, out, NULL), 0);
	assert_int_equal(atv_aead_open(key, nonce, NULL, 0, out, 16, NULL, NULL), 0);
	free(nonce);
	free(aad);
}

static void test_nonce(void **state)
{
	uint8_t n[12];

	(void)state;
	atv_nonce_label(n, "PS-Msg05");
	assert_memory_equal(n, "\0\0\0\0PS-Msg05", 12);
	atv_nonce_counter(n, 0x0102030405060708ull);
	assert_memory_equal(n, "\0\0\0\0\x08\x07\x06\x05\x04\x03\x02\x01", 12);
}

/* RFC 8032 7.1 test 1 */
static void test_ed25519(void **state)
{
	uint8_t *seed =
		unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", NULL);
	uint8_t pub[32], sig[64], s2[32], p2[32];
	struct atv_err err;

	(void)state;
	assert_int_equal(atv_ed25519_pub(seed, pub, NULL), 0);
	assert_hex(pub, 32, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
	assert_int_equal(atv_ed25519_sign(seed, "", 0, sig, NULL), 0);
	assert_hex(sig, 64,
		   "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
		   "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
	assert_int_equal(atv_ed25519_verify(pub, "", 0, sig, NULL), 0);
	sig[10] ^= 1;
	assert_int_equal(atv_ed25519_verify(pub, "", 0, sig, &err), -ATV_E_AUTH);
	assert_int_equal(err.code, ATV_E_AUTH);
	sig[10] ^= 1;
	assert_int_equal(atv_ed25519_verify(pub, "x", 1, sig, NULL), -ATV_E_AUTH);
	/* a fresh key signs and verifies */
	assert_int_equal(atv_ed25519_keygen(s2, p2, NULL), 0);
	assert_int_equal(atv_ed25519_sign(s2, "hello", 5, sig, NULL), 0);
	assert_int_equal(atv_ed25519_verify(p2, "hello", 5, sig, NULL), 0);
	assert_int_equal(atv_ed25519_verify(pub, "hello", 5, sig, NULL), -ATV_E_AUTH);
	free(seed);
}

/* RFC 7748 5.2 (first vector) and 6.1 */
static void test_x25519(void **state)
{
	uint8_t *k =
		unhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", NULL);
	uint8_t *u =
		unhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", NULL);
	uint8_t *a =
		unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", NULL);
	uint8_t *b =
		unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", NULL);
	uint8_t out[32], apub[32], bpub[32], zero[32] = {0}, p1[32], p2[32], s1[32], s2[32];

	(void)state;
	assert_int_equal(atv_x25519_derive(k, u, out, NULL), 0);
	assert_hex(out, 32, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	assert_int_equal(atv_x25519_pub(a, apub, NULL), 0);
	assert_hex(apub, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	assert_int_equal(atv_x25519_pub(b, bpub, NULL), 0);
	assert_hex(bpub, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	assert_int_equal(atv_x25519_derive(a, bpub, out, NULL), 0);
	assert_hex(out, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	assert_int_equal(atv_x25519_derive(b, apub, out, NULL), 0);
	assert_hex(out, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	/* a small-order peer key (0) gives the all-zero secret: refused */
	assert_int_equal(atv_x25519_derive(a, zero, out, NULL), -ATV_E_PROTO);
	assert_int_equal(atv_x25519_keygen(s1, p1, NULL), 0);
	assert_int_equal(atv_x25519_keygen(s2, p2, NULL), 0);
	assert_int_equal(atv_x25519_derive(s1, p2, apub, NULL), 0);
	assert_int_equal(atv_x25519_derive(s2, p1, bpub, NULL), 0);
	assert_memory_equal(apub, bpub, 32);
	free(k);
	free(u);
	free(a);
	free(b);
}

/*
 * RFC 5054 Appendix B: the inputs and every intermediate exactly as the RFC
 * prints them (1024-bit group of Appendix A, g = 2, SHA-1).  The RFC's k
 * and u hash PAD(g) and PAD(A) | PAD(B), as ours do; it gives no K, M1 or
 * M2, so the trace only requires that the two sides' proofs agree.
 */
static void test_srp_rfc5054(void **state)
{
	static const char s[] = "BEB25379 D1A8581E B5A72767 3A2441EE";
	static const char a[] = "60975527 035CF2AD 1989806F 0407210B C81EDC04 E2762A56 AFD529DD"
				" DA2D4393";
	static const char b[] = "E487CB59 D31AC550 471E81F0 0F6928E0 1DDA08E9 74A004F4 9E61F5D1"
				" 05284D20";
	static const char k[] = "7556AA04 5AEF2CDD 07ABAF0F 665C3E81 8913186F";
	static const char x[] = "94B7555A ABE9127C C58CCF49 93DB6CF8 4D16C124";
	static const char v[] = "7E273DE8 696FFC4F 4E337D05 B4B375BE B0DDE156 9E8FA00A 9886D812"
				" 9BADA1F1 822223CA 1A605B53 0E379BA4 729FDC59 F105B478 7E5186F5"
				" C671085A 1447B52A 48CF1970 B4FB6F84 00BBF4CE BFBB1681 52E08AB5"
				" EA53D15C 1AFF87B2 B9DA6E04 E058AD51 CC72BFC9 033B564E 26480D78"
				" E955A5E2 9E7AB245 DB2BE315 E2099AFB";
	static const char pa[] = "61D5E490 F6F1B795 47B0704C 436F523D D0E560F0 C64115BB 72557EC4"
				 " 4352E890 3211C046 92272D8B 2D1A5358 A2CF1B6E 0BFCF99F 921530EC"
				 " 8E393561 79EAE45E 42BA92AE ACED8251 71E1E8B9 AF6D9C03 E1327F44"
				 " BE087EF0 6530E69F 66615261 EEF54073 CA11CF58 58F0EDFD FE15EFEA"
				 " B349EF5D 76988A36 72FAC47B 0769447B";
	static const char pb[] = "BD0C6151 2C692C0C B6D041FA 01BB152D 4916A1E7 7AF46AE1 05393011"
				 " BAF38964 DC46A067 0DD125B9 5A981652 236F99D9 B681CBF8 7837EC99"
				 " 6C6DA044 53728610 D0C6DDB5 8B318885 D7D82C7F 8DEB75CE 7BD4FBAA"
				 " 37089E6F 9C6059F3 88838E7A 00030B33 1EB76840 910440B1 B27AAEAE"
				 " EB4012B7 D7665238 A8E3FB00 4B117B58";
	static const char u[] = "CE38B959 3487DA98 554ED47D 70A7AE5F 462EF019";
	static const char pms[] = "B0DC82BA BCF30674 AE450C02 87745E79 90A3381F 63B387AA F271A10D"
				  " 233861E3 59B48220 F7C4693C 9AE12B0A 6F67809F 0876E2D0 13800D6C"
				  " 41BB59B6 D5979B5C 00A172B4 A2A5903A 0BDCAF8A 709585EB 2AFAFA8F"
				  " 3499B200 210DCC1F 10EB3394 3CD67FC8 8A2F39A4 BE5BEC4E C0A3212D"
				  " C346D7E4 74B29EDE 8A469FFE CA686E5A";
	size_t slen, alen, blen;
	uint8_t *salt = unhex(s, &slen), *ea = unhex(a, &alen), *eb = unhex(b, &blen);
	struct atv_srp_trace *t = calloc(1, sizeof *t);
	struct atv_err err;

	(void)state;
	assert_non_null(t);
	assert_int_equal(atv_srp_rfc5054_trace("alice", "password123", salt, slen, ea, alen, eb,
					       blen, t, &err),
			 0);
	assert_hex(t->k.p, t->k.len, k);
	assert_hex(t->x.p, t->x.len, x);
	assert_hex(t->v.p, t->v.len, v);
	assert_hex(t->a.p, t->a.len, pa);
	assert_hex(t->b.p, t->b.len, pb);
	assert_hex(t->u.p, t->u.len, u);
	assert_hex(t->s_client.p, t->s_client.len, pms);
	assert_hex(t->s_server.p, t->s_server.len, pms);
	/* another password: the same k and A, but x, v, B, u and S all move */
	assert_int_equal(atv_srp_rfc5054_trace("alice", "password124", salt, slen, ea, alen, eb,
					       blen, t, NULL),
			 0);
	assert_hex(t->k.p, t->k.len, k);
	assert_hex(t->a.p, t->a.len, pa);
	assert_not_hex(t->x.p, t->x.len, x);
	assert_not_hex(t->v.p, t->v.len, v);
	assert_not_hex(t->b.p, t->b.len, pb);
	assert_not_hex(t->u.p, t->u.len, u);
	assert_not_hex(t->s_client.p, t->s_client.len, pms);
	assert_int_equal(t->s_client.len, t->s_server.len);
	assert_memory_equal(t->s_client.p, t->s_server.p, t->s_client.len);
	free(t);
	free(salt);
	free(ea);
	free(eb);
}

/*
 * HomeKit's SRP-6a (3072-bit group, SHA-512), which Appendix B does not
 * cover: vectors from an independent Python computation (hashlib + pow,
 * srptools' byte conventions): user "Pair-Setup", password "1111", RFC
 * 5054's salt, a and b; then the same with a, b chosen so that A, S or B has
 * a leading zero byte, which is where padding conventions would differ.
 */
struct srp_vector {
	const char *a, *b;
	size_t alen, blen; /* minimal lengths of A and B */
	const char *k, *m1, *m2;
};

static const char srp_salt[] = "beb25379d1a8581eb5a727673a2441ee";

static const struct srp_vector srp_vectors[] = {
	{"60975527035cf2ad1989806f0407210bc81edc04e2762a56afd529ddda2d4393",
	 "e487cb59d31ac550471e81f00f6928e01dda08e974a004f49e61f5d105284d20", 384, 384,
	 "74ceeb1ca83a103b7807929f7bd13db6d1c3735069a2869aa68484721f90cd0a"
	 "2ae2d39f375018c37f4abfab90efd97fb3e020e0980ed2d2a7a5d298d45b85b1",
	 "c45e35c57fa8a21ceed3e3affbbcac70a83e68ae0dbb647f41aae638bf9bff61"
	 "805ead8c102f15e7baa8d1f0232ba17338abb5bfe3206b68db2bffe9baa8da28",
	 "a91b2909cb2de9d90a5c8c2913b8e94a1ef3d072b103d0037cdcb580dc545fde"
	 "a009508816fd68a7af07f83b9be11448d29ebd996ffaa3321463ce57b4cb7a31"},
	{/* A has a leading zero byte */
	 "60975527035cf2ad1989806f0407210bc81edc04e2762a56afd529ddda2d48e3",
	 "e487cb59d31ac550471e81f00f6928e01dda08e974a004f49e61f5d105284d20", 383, 384,
	 "ed6fff201586584403bacbb9c397d80da5bf9d63abc1492f2e34555d560ca92a"
	 "807ca08775d818e897e415c3658982f3ab932cf22b8652226ff06bba0637f2ef",
	 "a0751cb6ceeb0c32c536cc50053cf3152b709bc2c3c14216336855eaa020ab52"
	 "3b47e01622a2a00194a65d2469197629a7c40a34327dabaa77051a29701d236f",
	 "c9f3320c1499b1cbd89cc6c3cdfdf4b73f8f9502b0542a37c63e4810a6633e28"
	 "8f2d1dd4920d9c9c8d7f24f9fe701056e50af68edf5da87c0cca709d668d417c"},
	{/* S has a leading zero byte */
	 "60975527035cf2ad1989806f0407210bc81edc04e2762a56afd529ddda2d4597",
	 "e487cb59d31ac550471e81f00f6928e01dda08e974a004f49e61f5d105284d20", 384, 384,
	 "206785ce44ce988286dbbcefc4807fc76e37d46971bf58cce3c2ee5b6de83975"
	 "2f2b323b3e341c48aa2cf370da1a4793d80a389da9c17ef23d38962c59289b2a",
	 "b57875e42cfe320d094f05850a80bcf88f968c45131408af3e772a8bed8d345a"
	 "d554fc5834a4cc196cc2fc76f6e3513d87cc28c45d36435b2189eff791d132f0",
	 "1d3aef3cf8d57b7e56b1dc17969dd0ed46728eda85ac466574bbdf0732d23398"
	 "0adb4bdfd4c19d3ce3f37417eeac7f3ef975242c40587aefd394367aa5d30e3f"},
	{/* B has a leading zero byte */
	 "60975527035cf2ad1989806f0407210bc81edc04e2762a56afd529ddda2d4393",
	 "e487cb59d31ac550471e81f00f6928e01dda08e974a004f49e61f5d105284f64", 384, 383,
	 "526e559db9ebd7951dde8eaf49be437616798c7e02af632fbbf2ad85ad3a4530"
	 "a4476c57cbb1eeb23591359391ef6098ff49b4b1a444bc2d4168c8fee6f268d5",
	 "087321614fa98b8ba3aa8552fde8a8937a9c31a859062df286c0ad52f2fb2805"
	 "5f6191f5709328177af5e015c925b4ce452b5e6860f08cb70aaa667cf6be14fd",
	 "9b1bcbc7ecbaf39d0179ea5635644916b3dd99321393ef4b42c259b32e2c27cb"
	 "55860b41e0499fe5b2221b0257cdba608b7875828fe2bff51a537f0b90203b6d"},
};

static void run_srp_vector(const struct srp_vector *v)
{
	size_t alen, blen, slen, n;
	uint8_t *a = unhex(v->a, &alen), *b = unhex(v->b, &blen), *salt = unhex(srp_salt, &slen);
	const uint8_t *pa, *pb;
	struct atv_srp_client *c;
	struct atv_srp_server *s;
	struct atv_err err;

	c = atv_srp_client_new("Pair-Setup", "1111", a, alen, &err);
	s = atv_srp_server_new("Pair-Setup", "1111", salt, slen, b, blen, &err);
	assert_non_null(c);
	assert_non_null(s);
	n = atv_srp_client_public(c, &pa);
	assert_int_equal(n, v->alen);
	assert_int_equal(atv_srp_server_public(s, &pb), v->blen);
	assert_int_equal(atv_srp_client_process(c, salt, slen, pb, v->blen, &err), 0);
	assert_null(atv_srp_client_key(c)); /* not before the server proved itself */
	assert_hex(atv_srp_client_proof(c), ATV_SRP_PROOF_LEN, v->m1);
	assert_null(atv_srp_server_proof(s));
	assert_int_equal(atv_srp_server_verify(s, pa, n, atv_srp_client_proof(c), 64, &err), 0);
	assert_hex(atv_srp_server_proof(s), ATV_SRP_PROOF_LEN, v->m2);
	assert_hex(atv_srp_server_key(s), ATV_SRP_KEY_LEN, v->k);
	assert_int_equal(atv_srp_client_verify(c, atv_srp_server_proof(s), 64, &err), 0);
	assert_hex(atv_srp_client_key(c), ATV_SRP_KEY_LEN, v->k);
	atv_srp_client_free(c);
	atv_srp_server_free(s);
	free(a);
	free(b);
	free(salt);
}

static void test_srp_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof srp_vectors / sizeof srp_vectors[0]; i++)
		run_srp_vector(&srp_vectors[i]);
}

/* Random a, b and salt: the right password agrees, a wrong one does not,
 * and neither side hands out a key it cannot trust. */
static void srp_exchange(const char *client_pw, int ok)
{
	struct atv_srp_client *c = atv_srp_client_new("Pair-Setup", client_pw, NULL, 0, NULL);
	struct atv_srp_server *s = atv_srp_server_new("Pair-Setup", "1234", NULL, 0, NULL, 0, NULL);
	const uint8_t *salt, *pa, *pb;
	size_t slen, alen, blen;
	uint8_t fake[64] = {0};
	struct atv_err err;

	assert_non_null(c);
	assert_non_null(s);
	slen = atv_srp_server_salt(s, &salt);
	assert_int_equal(slen, 16);
	blen = atv_srp_server_public(s, &pb);
	alen = atv_srp_client_public(c, &pa);
	assert_int_equal(atv_srp_client_process(c, salt, slen, pb, blen, NULL), 0);
	if (ok) {
		assert_int_equal(
			atv_srp_server_verify(s, pa, alen, atv_srp_client_proof(c), 64, NULL), 0);
		assert_int_equal(atv_srp_client_verify(c, atv_srp_server_proof(s), 64, NULL), 0);
		assert_memory_equal(atv_srp_client_key(c), atv_srp_server_key(s), 64);
	} else {
		assert_int_equal(
			atv_srp_server_verify(s, pa, alen, atv_srp_client_proof(c), 64, &err),
			-ATV_E_AUTH);
		assert_int_equal(err.code, ATV_E_AUTH);
		assert_null(atv_srp_server_key(s));
		assert_null(atv_srp_server_proof(s));
		/* a server that does not know the password cannot fake M2 */
		assert_int_equal(atv_srp_client_verify(c, fake, 64, NULL), -ATV_E_AUTH);
		assert_null(atv_srp_client_key(c));
	}
	atv_srp_client_free(c);
	atv_srp_server_free(s);
}

static void test_srp_exchange(void **state)
{
	(void)state;
	srp_exchange("1234", 1);
	srp_exchange("1243", 0);
}

/* A or B that is 0 mod N (0, N, or longer than the group) is refused. */
static void test_srp_hostile(void **state)
{
	struct atv_srp_client *c = atv_srp_client_new("Pair-Setup", "1111", NULL, 0, NULL);
	struct atv_srp_server *s = atv_srp_server_new("Pair-Setup", "1111", NULL, 0, NULL, 0, NULL);
	uint8_t zero[384] = {0}, n[384], big[385], m1[64] = {0};
	struct atv_err err;

	(void)state;
	memset(n, 0xff, sizeof n); /* > N: N's top and bottom 64 bits are all ones */
	memset(big, 0x01, sizeof big);
	assert_int_equal(atv_srp_client_process(c, (const uint8_t *)"s", 1, zero, 384, &err),
			 -ATV_E_PROTO);
	assert_int_equal(atv_srp_client_process(c, (const uint8_t *)"s", 1, zero, 1, NULL),
			 -ATV_E_PROTO);
	assert_int_equal(atv_srp_client_process(c, (const uint8_t *)"s", 1, n, 384, NULL),
			 -ATV_E_PROTO);
	assert_int_equal(atv_srp_client_process(c, (const uint8_t *)"s", 1, big, 385, NULL),
			 -ATV_E_PROTO);
	assert_int_equal(atv_srp_client_process(c, (const uint8_t *)"s", 0, n + 1, 10, NULL),
			 -ATV_E_PROTO); /* empty salt */
	assert_null(atv_srp_client_proof(c));
	assert_int_equal(atv_srp_client_verify(c, m1, 64, NULL), -ATV_E_USAGE);
	assert_int_equal(atv_srp_server_verify(s, zero, 384, m1, 64, NULL), -ATV_E_PROTO);
	assert_int_equal(atv_srp_server_verify(s, n, 384, m1, 64, NULL), -ATV_E_PROTO);
	assert_int_equal(atv_srp_server_verify(s, n + 1, 10, m1, 3, NULL), -ATV_E_AUTH);
	assert_null(atv_srp_server_key(s));
	atv_srp_client_free(c);
	atv_srp_server_free(s);
	atv_srp_client_free(NULL);
	atv_srp_server_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha512),	    cmocka_unit_test(test_hkdf),
		cmocka_unit_test(test_aead),	    cmocka_unit_test(test_nonce),
		cmocka_unit_test(test_ed25519),	    cmocka_unit_test(test_x25519),
		cmocka_unit_test(test_srp_rfc5054), cmocka_unit_test(test_srp_vectors),
		cmocka_unit_test(test_srp_exchange), cmocka_unit_test(test_srp_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
