/* plist_dl.c - load libplist on first use (lib/dl.h says how and why). */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>

#include "dl.h"
#include "err.h"
#include "plist_dl.h"
#include "banned.h"

/* The soname of the libplist this build found (configure.ac): 2.2 is
 * libplist-2.0.so.3, 2.3 and later libplist-2.0.so.4. */
#define PLIST_DL_SONAME ATV_PLIST_SONAME

/* Written once under pthread_once, read-only afterwards. */
static struct atv_plist plist_dl_api;
static int plist_dl_rc;
static char plist_dl_error[ATV_ERR_MSGLEN];

static void plist_dl_init(void)
{
	struct atv_plist api = {0};
	void *h, *p;

	h = atv_dl_open(PLIST_DL_SONAME, plist_dl_error, sizeof plist_dl_error);
	if (!h) {
		plist_dl_rc = -ATV_E_UNSUPPORTED;
		return;
	}
	/* dlsym's void * to a function pointer: POSIX guarantees this works */
#define PLIST_DL_LOOKUP(name)                                                                      \
	p = atv_dl_sym(h, PLIST_DL_SONAME, "plist_", #name, plist_dl_error,                        \
		       sizeof plist_dl_error);                                                     \
	if (!p) {                                                                                  \
		plist_dl_rc = -ATV_E_UNSUPPORTED;                                                  \
		goto out;                                                                          \
	}                                                                                          \
	api.name = (__typeof__(api.name))p;
	ATV_PLIST_FUNCS(PLIST_DL_LOOKUP)
#undef PLIST_DL_LOOKUP
	plist_dl_api = api;
out:
	/* Nothing of libplist has run yet on failure, so unloading is safe. */
	if (plist_dl_rc < 0)
		dlclose(h);
}

int atv_plist_load(const struct atv_plist **api, struct atv_err *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, plist_dl_init);
	if (plist_dl_rc < 0) {
		*api = NULL;
		return atv_err_set(err, -plist_dl_rc, "%s", plist_dl_error);
	}
	*api = &plist_dl_api;
	return 0;
}
