/* curl_dl.c - load libcurl on first use (lib/dl.h says how and why). */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>

#include "curl_dl.h"
#include "dl.h"
#include "err.h"
#include "banned.h"

/* The soname of the libcurl this build found (configure.ac). */
#define CURL_DL_SONAME ATV_CURL_SONAME

/* Written once under pthread_once, read-only afterwards. */
static struct atv_curl curl_dl_api;
static int curl_dl_rc;
static char curl_dl_error[ATV_ERR_MSGLEN];

static void curl_dl_init(void)
{
	struct atv_curl api = {0};
	void *h, *p;

	h = atv_dl_open(CURL_DL_SONAME, curl_dl_error, sizeof curl_dl_error);
	if (!h) {
		curl_dl_rc = -ATV_E_UNREACHABLE;
		return;
	}
	/* dlsym's void * to a function pointer: POSIX guarantees this
	 * conversion works (dlsym could not be used otherwise). */
#define CURL_DL_LOOKUP(name)                                                                       \
	p = atv_dl_sym(h, CURL_DL_SONAME, "curl_", #name, curl_dl_error, sizeof curl_dl_error);   \
	if (!p) {                                                                                  \
		curl_dl_rc = -ATV_E_UNREACHABLE;                                                   \
		goto out;                                                                          \
	}                                                                                          \
	api.name = (__typeof__(api.name))p;
	ATV_CURL_FUNCS(CURL_DL_LOOKUP)
#undef CURL_DL_LOOKUP
	curl_dl_api = api;
out:
	/* Nothing of libcurl has run yet on failure, so unloading is safe. */
	if (curl_dl_rc < 0)
		dlclose(h);
}

int atv_curl_load(const struct atv_curl **api, struct atv_err *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, curl_dl_init);
	if (curl_dl_rc < 0) {
		*api = NULL;
		return atv_err_set(err, -curl_dl_rc, "%s", curl_dl_error);
	}
	*api = &curl_dl_api;
	return 0;
}
