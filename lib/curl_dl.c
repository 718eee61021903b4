/* curl_dl.c - load libcurl on first use.
 *
 * RTLD_NOW: every undefined reference in libcurl and below is bound at
 * dlopen, so a broken installation fails here with dlerror's reason, not
 * in the middle of a request.  RTLD_LOCAL: the curl, gnutls, krb5, ...
 * symbols stay out of the global namespace, so they cannot interpose on
 * OpenSSL or anything else loaded later. */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "curl_dl.h"
#include "err.h"

/* The soname of the ABI <curl/curl.h> describes (libcurl >= 7.16). */
#define CURL_DL_SONAME "libcurl.so.4"

/* Written once under pthread_once, read-only afterwards. */
static struct atv_curl curl_dl_api;
static int curl_dl_rc;
static char curl_dl_error[ATV_ERR_MSGLEN];

static void curl_dl_fail(void)
{
	const char *why = dlerror();

	snprintf(curl_dl_error, sizeof curl_dl_error, "unable to load %s: %s", CURL_DL_SONAME,
		 why ? why : "unknown error");
	curl_dl_rc = -ATV_E_UNREACHABLE;
}

static void curl_dl_init(void)
{
	struct atv_curl api = {0};
	void *h;

	h = dlopen(CURL_DL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		curl_dl_fail();
		return;
	}
	/* dlsym's void * to a function pointer: POSIX guarantees this
	 * conversion works (dlsym could not be used otherwise). */
#define CURL_DL_LOOKUP(name)                                                                       \
	dlerror();                                                                                 \
	api.name = (__typeof__(api.name))dlsym(h, "curl_" #name);                                  \
	if (!api.name) {                                                                           \
		curl_dl_fail();                                                                    \
		goto out;                                                                          \
	}
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
