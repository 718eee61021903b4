/* dnssd.c - the found-service record. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnssd.h"
#include "err.h"
#include "banned.h"

const char *atv_dnssd_txt(const struct atv_dnssd_svc *s, const char *key)
{
	for (size_t i = 0; i < s->n_txt; i++)
		if (strcasecmp(s->txt[i].key, key) == 0)
			return s->txt[i].value;
	return NULL;
}

int atv_dnssd_add_txt(struct atv_dnssd_svc *s, const char *key, const char *value,
		      size_t value_len)
{
	struct atv_txt *t;

	if (!*key || atv_dnssd_txt(s, key))
		return 0;
	if (s->n_txt >= ATV_DNSSD_MAX_TXT)
		return -ATV_E_LIMIT;
	t = realloc(s->txt, (s->n_txt + 1) * sizeof *t);
	if (!t)
		return -ATV_E_NOMEM;
	s->txt = t;
	t = &s->txt[s->n_txt];
	t->key = strdup(key);
	t->value = malloc(value_len + 1);
	if (!t->key || !t->value) {
		free(t->key);
		free(t->value);
		return -ATV_E_NOMEM;
	}
	if (value_len)
		memcpy(t->value, value, value_len);
	t->value[value_len] = '\0';
	t->value_len = value_len;
	s->n_txt++;
	return 0;
}

void atv_dnssd_svc_release(struct atv_dnssd_svc *s)
{
	for (size_t i = 0; i < s->n_txt; i++) {
		free(s->txt[i].key);
		free(s->txt[i].value);
	}
	free(s->txt);
	free(s->type);
	free(s->name);
	free(s->host);
	memset(s, 0, sizeof *s);
}

void atv_dnssd_svcs_free(struct atv_dnssd_svc *svcs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		atv_dnssd_svc_release(&svcs[i]);
	free(svcs);
}
