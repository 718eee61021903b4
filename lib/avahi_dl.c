/* avahi_dl.c - load libavahi-client and libavahi-common on first use.
 *
 * RTLD_NOW: every undefined reference in avahi and below is bound at
 * dlopen, so a broken installation fails here with dlerror's reason, not
 * later in the middle of a browse.  RTLD_LOCAL: the avahi and dbus symbols
 * stay out of the global namespace, so they cannot interpose on anything
 * loaded later. */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "avahi_dl.h"
#include "err.h"
#include "banned.h"

/* The sonames of the avahi this build found (configure.ac). */
#define AVAHI_DL_CLIENT_SONAME ATV_AVAHI_CLIENT_SONAME
#define AVAHI_DL_COMMON_SONAME ATV_AVAHI_COMMON_SONAME

enum { AVAHI_DL_COMMON, AVAHI_DL_CLIENT, AVAHI_DL_NLIBS };

static const char *const avahi_dl_sonames[AVAHI_DL_NLIBS] = {
    [AVAHI_DL_COMMON] = AVAHI_DL_COMMON_SONAME,
    [AVAHI_DL_CLIENT] = AVAHI_DL_CLIENT_SONAME,
};

/* Written once under pthread_once, read-only afterwards. */
static struct atv_avahi avahi_dl_api;
static int avahi_dl_rc;
static char avahi_dl_error[ATV_ERR_MSGLEN];

static void avahi_dl_fail(const char *soname)
{
	const char *why = dlerror();

	snprintf(avahi_dl_error, sizeof avahi_dl_error, "unable to load %s: %s", soname,
		 why ? why : "unknown error");
	avahi_dl_rc = -ATV_E_UNREACHABLE;
}

static void avahi_dl_init(void)
{
	void *h[AVAHI_DL_NLIBS] = {NULL};
	struct atv_avahi api = {0};
	size_t i;

	/* libavahi-common first: libavahi-client needs it, and a failure
	 * then names the library that is really missing. */
	for (i = 0; i < AVAHI_DL_NLIBS; i++) {
		h[i] = dlopen(avahi_dl_sonames[i], RTLD_NOW | RTLD_LOCAL);
		if (!h[i]) {
			avahi_dl_fail(avahi_dl_sonames[i]);
			goto out;
		}
	}
	/* dlsym's void * to a function pointer: POSIX guarantees this
	 * conversion works (dlsym could not be used otherwise). */
#define AVAHI_DL_LOOKUP(lib, name)                                                                 \
	dlerror();                                                                                 \
	api.name = (__typeof__(api.name))dlsym(h[AVAHI_DL_##lib], "avahi_" #name);                 \
	if (!api.name) {                                                                           \
		avahi_dl_fail(avahi_dl_sonames[AVAHI_DL_##lib]);                                   \
		goto out;                                                                          \
	}
	ATV_AVAHI_FUNCS(AVAHI_DL_LOOKUP)
#undef AVAHI_DL_LOOKUP
	avahi_dl_api = api;
out:
	/* Nothing of avahi has run yet on failure, so unloading is safe. */
	if (avahi_dl_rc < 0)
		for (i = AVAHI_DL_NLIBS; i-- > 0;)
			if (h[i])
				dlclose(h[i]);
}

int atv_avahi_load(const struct atv_avahi **api, struct atv_err *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, avahi_dl_init);
	if (avahi_dl_rc < 0) {
		*api = NULL;
		return atv_err_set(err, -avahi_dl_rc, "%s", avahi_dl_error);
	}
	*api = &avahi_dl_api;
	return 0;
}
