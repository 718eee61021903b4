/* creds.h - the shared credentials file (atv-credentials(5)).
 *
 * JSON lines, one entry per (identifier, protocol):
 *   {"identifier":"…","protocol":"mrp","credentials":"…","name":"…","paired":"2026-…Z"}
 * Mode 0600 in a 0700 directory.  Every update takes an exclusive lock
 * (flock on "<file>.lock" beside it, because rename replaces the file's
 * inode), reads the current file, writes a temp file in the same directory,
 * fsyncs it, renames it over the file and fsyncs the directory: a reader
 * sees the old or the new file, never a half-written one, and concurrent
 * writers lose nothing.  A file (or lock file) that group or others may
 * read or write is refused, as ssh refuses such keys. */
#ifndef ATV_CREDS_H
#define ATV_CREDS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "devconf.h"
#include "err.h"

#define ATV_CREDS_MAX_FILE (4u * 1024u * 1024u) /* refuse larger files */
#define ATV_CREDS_MAX_ENTRIES 4096

struct atv_cred_entry {
	char *identifier;  /* required */
	char *protocol;    /* required: "mrp", "dmap", "airplay", ... */
	char *credentials; /* required; secret, wiped on release */
	char *name;        /* may be NULL */
	char *paired;      /* ISO 8601 UTC, may be NULL */
	json_t *extra;     /* unknown members, kept on rewrite (owned) */
};

struct atv_creds {
	struct atv_cred_entry *e;
	size_t n;
};

/* Resolve the path: opt (from --credentials) if non-NULL, else
 * $ATV_CREDENTIALS, else $XDG_CONFIG_HOME/atv/credentials, else
 * $HOME/.config/atv/credentials.  -ATV_E_CREDFILE if none can be formed. */
int atv_creds_path(const char *opt, char *out, size_t size, struct atv_err *err);

/* Parse a whole file's bytes.  Empty lines are skipped; any bad line is
 * -ATV_E_CREDFILE naming the line number.  c must be released. */
int atv_creds_parse(const uint8_t *p, size_t len, struct atv_creds *c, struct atv_err *err);

/* Load path (a missing file or directory is an empty set, not an error);
 * -ATV_E_CREDFILE for insecure permissions or bad contents, -ATV_E_IO. */
int atv_creds_load(const char *path, struct atv_creds *c, struct atv_err *err);

/* The entry for protocol whose identifier is one of ids[0..n), or NULL. */
const struct atv_cred_entry *atv_creds_find(const struct atv_creds *c, const char *const *ids,
					    size_t n, const char *protocol);

/* Add or replace the entry for (e->identifier, e->protocol), atomically
 * under the lock, creating the file (0600) and its directory (0700).
 * The lock is waited for at most timeout_ms (< 0: without limit); a writer
 * that holds it longer gives -ATV_E_IO "timed out ... waiting for the lock". */
int atv_creds_store(const char *path, const struct atv_cred_entry *e, int timeout_ms,
		    struct atv_err *err);

/* Remove the entry for (identifier, protocol); absent is not an error.
 * timeout_ms as for atv_creds_store. */
int atv_creds_remove(const char *path, const char *identifier, const char *protocol,
		     int timeout_ms, struct atv_err *err);

/* Fill the credentials of every service of d that has none from c,
 * matching any of d's all_identifiers and the service's protocol; the
 * entry's other members (extra: Companion's "rp_id") are added to the
 * service's members it does not have yet. */
int atv_creds_fill(const struct atv_creds *c, struct atv_device *d);

/* Free what c owns (secrets wiped) and zero it. */
void atv_creds_release(struct atv_creds *c);

/* Free one entry's members (secrets wiped). */
void atv_cred_entry_release(struct atv_cred_entry *e);

/* Fill e (zeroed first; release it even on failure) from one entry
 * object: string identifier, protocol (both non-empty) and credentials,
 * optional string (or null) name and paired, every other member copied
 * into extra.  -ATV_E_INPUT naming the bad member (never its value). */
int atv_cred_entry_from_json(const json_t *j, struct atv_cred_entry *e, struct atv_err *err);

/* Append c to out in the file format: one compact line per entry, keys in
 * the order identifier, protocol, credentials, name, paired, then extra.
 * out holds secrets: release it (atv_buf_release wipes).  -ATV_E_USAGE for
 * an entry that could not be read back (empty identifier, invalid UTF-8),
 * -ATV_E_LIMIT past out->max, -ATV_E_NOMEM. */
int atv_creds_format(const struct atv_creds *c, struct atv_buf *out, struct atv_err *err);

/* Test seam only (t/helpers/creds-tool store-slow): called by an update
 * after it wrote half of the temp file, still holding the lock.  NULL
 * (the default) disables it. */
void atv_creds_set_test_hook(void (*hook)(void));

#endif
