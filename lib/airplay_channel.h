/* airplay_channel.h - a TCP connection that is plain at first and HAP-encrypted
 * once pair-verify (or transient pair-setup) finished.
 *
 * AirPlay keeps speaking HTTP (and RTSP) on the connection it paired on,
 * but every byte after the pairing is sealed in HAP blocks (hap.h: 2-byte
 * little-endian length, also the AAD, then ciphertext and a 16-byte tag).
 * A channel comes in two modes:
 *
 *   direct (atv_channel_new_direct): the owner writes plaintext with
 *     atv_channel_send (sealed once encrypted) and takes the plaintext the
 *     peer sent from atv_channel_input; the controller's own HTTP/RTSP
 *     layer (httpmsg.h) works this way.
 *   socket pair (atv_channel_new): an HTTP library that wants a socket
 *     talks to the "local" end of a socketpair(AF_UNIX, SOCK_STREAM) and
 *     the channel moves bytes between it and TCP: libmicrohttpd in the
 *     fake Apple TV (MHD_add_connection).
 *
 * Single-threaded and non-blocking: the owner polls the fds
 * atv_channel_pollfds() names and calls atv_channel_pump() whenever one of
 * them is ready (or simply after every wakeup).  Both directions are
 * buffered with caps (ATV_CHANNEL_BUF_MAX each; a full buffer stops
 * reading from its source until it drains), so a peer that never reads
 * cannot make us grow.
 *
 * Ending: when the TCP peer closes, what was received is delivered (to
 * the input, or to the local end, which is then shut down for writing),
 * then pump returns -ATV_E_UNREACHABLE.  When the local side closes (the
 * HTTP library dropped the connection), queued bytes are sent and TCP is
 * shut down for writing; pump returns -ATV_E_UNREACHABLE too.  A block
 * that does not authenticate is -ATV_E_AUTH, a malformed one -ATV_E_PROTO
 * (as is a peer that closes in the middle of a block); the channel is
 * dead after any error (later pumps return the same error; a direct
 * channel's input keeps what had arrived). */
#ifndef ATV_AIRPLAY_CHANNEL_H
#define ATV_AIRPLAY_CHANNEL_H

#include <poll.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "hap.h"

#define ATV_CHANNEL_BUF_MAX (256 * 1024) /* bytes queued per direction */

struct atv_channel;

/* A channel for the connected TCP socket tcp_fd, which it owns from now
 * on (set non-blocking and close-on-exec; closed by atv_channel_free, also
 * when this fails).  NULL with err set on failure (-ATV_E_IO, _NOMEM). */
struct atv_channel *atv_channel_new(int tcp_fd, struct atv_err *err);

/* A direct channel for tcp_fd (owned from now on, as atv_channel_new):
 * no socket pair. */
struct atv_channel *atv_channel_new_direct(int tcp_fd, struct atv_err *err);

/* Direct channels: queue len bytes for the peer, sealed once encrypted
 * (pump sends them).  -ATV_E_LIMIT when they do not fit into what is
 * still queued (ATV_CHANNEL_BUF_MAX), -ATV_E_USAGE on a socket pair
 * channel, the channel's error once it is dead. */
int atv_channel_send(struct atv_channel *ch, const void *p, size_t len, struct atv_err *err);

/* Direct channels: the plaintext received and not yet taken; the owner
 * consumes from it (atv_buf_consume), which makes room for more. */
struct atv_buf *atv_channel_input(struct atv_channel *ch);

/* The local end for the HTTP library (non-blocking, close-on-exec).  The
 * channel closes it in atv_channel_free unless atv_channel_take_local()
 * handed it over. */
int atv_channel_local_fd(const struct atv_channel *ch);

/* Hand the local end over to the caller (libmicrohttpd closes the sockets
 * it is given): the channel will not close it.  Returns the fd. */
int atv_channel_take_local(struct atv_channel *ch);

/* The TCP socket (for logging the peer, or to poll it). */
int atv_channel_tcp_fd(const struct atv_channel *ch);

/* The fds to wait for and their events (POLLIN while there is room to
 * read into, POLLOUT while bytes wait to be written) into pfd[0..2);
 * returns how many entries were filled (0 once the channel is dead or
 * finished). */
size_t atv_channel_pollfds(const struct atv_channel *ch, struct pollfd pfd[2]);

/* Move what can move without blocking, in both directions.  0 while the
 * connection lives; errors as described above. */
int atv_channel_pump(struct atv_channel *ch, struct atv_err *err);

/* From now on seal what the local side writes and open what the peer
 * sends, with c's keys and counters (copied; c->out_key seals, c->in_key
 * opens).  Whatever the local side wrote before this call (e.g. the fake's
 * pair-verify M4 response, still in the socket pair) is first queued
 * plain, so call it once the last plain message has been written locally
 * (controller: after the M4 reply came back; accessory: when the M4
 * response is complete).  -ATV_E_USAGE when already encrypted. */
int atv_channel_encrypt(struct atv_channel *ch, const struct atv_hap_cipher *c,
			struct atv_err *err);

/* 1 when part of an encrypted block from the peer has arrived and waits
 * for the rest (a peer that stops there has stalled mid-message). */
int atv_channel_partial(const struct atv_channel *ch);

/* 1 once atv_channel_encrypt() ran. */
int atv_channel_encrypted(const struct atv_channel *ch);

/* Close the fds it owns and wipe the keys (NULL is fine). */
void atv_channel_free(struct atv_channel *ch);

#endif
