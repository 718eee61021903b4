/* text.c - human-readable scan summary, in the spirit of `atvremote scan`. */
#include "config.h"

#include <ctype.h>
#include <errno.h>

#include "text.h"
#include "banned.h"

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

int atv_scan_print_text(FILE *f, const struct atv_device *d, bool first, struct atv_err *err)
{
	if (!first)
		fputc('\n', f);
	fprintf(f, "       Name: %s\n", or_dash(d->name));
	fprintf(f, "   Model/SW: %s, %s %s", or_dash(d->info.model), or_dash(d->info.operating_system),
		or_dash(d->info.version));
	if (d->info.build)
		fprintf(f, " build %s", d->info.build);
	fputc('\n', f);
	fprintf(f, "    Address: %s\n", or_dash(d->address));
	fprintf(f, "        MAC: %s\n", or_dash(d->info.mac));
	fprintf(f, " Deep sleep: %s\n", d->deep_sleep ? "yes" : "no");
	fprintf(f, "Identifiers:\n");
	for (size_t i = 0; i < d->n_ids; i++)
		fprintf(f, " - %s\n", d->all_ids[i]);
	fprintf(f, "   Services:\n");
	for (size_t i = 0; i < d->n_svcs; i++) {
		const struct atv_service *s = &d->svcs[i];
		char proto[16];
		size_t j;
		for (j = 0; s->protocol[j] && j < sizeof proto - 1; j++)
			proto[j] = (char)toupper((unsigned char)s->protocol[j]);
		proto[j] = '\0';
		fprintf(f, " - %-9s port %-5d credentials: %s%s\n", proto, s->port,
			s->credentials ? "yes" : "no", s->enabled ? "" : " (disabled)");
	}
	if (fflush(f) == EOF || ferror(f))
		return atv_err_sys(err, ATV_E_IO, errno, "unable to write output");
	return 0;
}
