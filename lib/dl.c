/* dl.c - dlopen/dlsym with one wording for their errors (see dl.h). */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>

#include "dl.h"
#include "banned.h"

static void fail(const char *soname, char *why, size_t size)
{
	const char *e = dlerror();

	snprintf(why, size, "unable to load %s: %s", soname, e ? e : "unknown error");
}

void *atv_dl_open(const char *soname, char *why, size_t size)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		fail(soname, why, size);
	return h;
}

void *atv_dl_sym(void *h, const char *soname, const char *prefix, const char *name, char *why,
		 size_t size)
{
	char sym[128];
	void *p;

	snprintf(sym, sizeof sym, "%s%s", prefix, name);
	dlerror();
	p = dlsym(h, sym);
	if (!p)
		fail(soname, why, size);
	return p;
}
