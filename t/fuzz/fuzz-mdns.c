/* fuzz-mdns.c - atv_mdns_parse_response on arbitrary bytes: what a hostile
 * host on the network can send to a scan.  Built with the replay driver
 * (t/fuzz/replay.c) for `make check`, and as a libFuzzer binary with
 * --enable-fuzz. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dnssd.h"
#include "err.h"
#include "dnssd_packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *data, size_t size, const char *const *types)
{
	struct atv_dnssd_svc *svcs = NULL;
	struct atv_err err = {0};
	size_t n = 0;

	if (atv_mdns_parse_response(data, size, types, &svcs, &n, &err) < 0) {
		/* a failure leaves nothing to free and always explains itself */
		if (svcs || n || !err.code || !err.msg[0])
			__builtin_trap();
		return;
	}
	if (n > ATV_DNSSD_MAX_SERVICES || (n && !svcs))
		__builtin_trap();
	for (size_t i = 0; i < n; i++) {
		const struct atv_dnssd_svc *s = &svcs[i];

		/* touch every string so the sanitizers check its bounds */
		if (!s->type || !s->name || strlen(s->name) == 0 || strlen(s->type) == 0 ||
		    strlen(s->address) >= sizeof s->address || s->n_txt > ATV_DNSSD_MAX_TXT)
			__builtin_trap();
		if (s->host && strlen(s->host) == 0)
			__builtin_trap();
		for (size_t k = 0; k < s->n_txt; k++)
			if (!*s->txt[k].key || strchr(s->txt[k].key, '=') ||
			    strlen(s->txt[k].value) != s->txt[k].value_len)
				__builtin_trap();
	}
	/* whatever the parser accepts, the resolve query can ask about */
	if (n) {
		const struct atv_dnssd_svc *ask[ATV_DNSSD_MAX_SERVICES];
		static uint8_t q[ATV_MDNS_MAX_PACKET];
		size_t k = n < 32 ? n : 32, qlen;

		for (size_t i = 0; i < k; i++)
			ask[i] = &svcs[i];
		if (atv_mdns_build_resolve_query(ask, k, true, 0, q, sizeof q, &qlen, &err) < 0)
			__builtin_trap();
	}
	atv_dnssd_svcs_free(svcs, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(data, size, NULL);
	check(data, size, atv_mdns_service_types);
	return 0;
}
