/* main.c - fake-atv: a fake Apple TV for the tests, one process serving
 * every protocol from one poll() loop (see fake.h). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "fake.h"
#include "log.h"

static const char usage_text[] =
	"NAME\n"
	"     fake-atv - a fake Apple TV for the atv-tools tests\n"
	"\n"
	"SYNOPSIS\n"
	"     fake-atv --device FILE.json [--unicast ADDR[:PORT]]... [--multicast IFADDR]\n"
	"              [--ready-file PATH] [--hostile MODE] [--sleeping] [--mrp-port N]\n"
	"              [--dmap-port N] [--airplay-port N] [--companion-port N]\n"
	"              [--pairings FILE] [--control PATH]\n"
	"              [-v]\n"
	"\n"
	"DESCRIPTION\n"
	"     fake-atv describes the device in FILE.json over DNS-SD the way an Apple TV's\n"
	"     mDNSResponder does, until SIGTERM or SIGINT (exit 0).  All its servers share\n"
	"     one poll() loop in one process.\n"
	"\n"
	"     A PTR query for a service type the device has (\"_airplay._tcp.local\") gets the\n"
	"     PTR, with SRV, TXT and A in the additional section.  SRV, TXT and ANY queries\n"
	"     for an instance (\"Living Room._airplay._tcp.local\"), A queries for\n"
	"     \"<host>.local\" and PTR \"_services._dns-sd._udp.local\" are answered too.  A\n"
	"     query that matches nothing gets an empty answer (legacy unicast: with its\n"
	"     questions), except on the group, where mDNS stays silent.  All answers to\n"
	"     one query go in one packet.  Only services that fake-atv serves are\n"
	"     advertised (MRP, DMAP's _touch-able/_appletv-v2, AirPlay, and RAOP on the\n"
	"     AirPlay port); others in the device file (_companion-link) are left out.\n"
	"\n"
	"     When the device has a _mediaremotetv._tcp service with a UniqueIdentifier,\n"
	"     fake-atv also serves MRP (MediaRemote) on TCP at the first --unicast\n"
	"     address (else the --multicast one, else the device's), on the service's\n"
	"     port: pairing (pair-setup with the device's PIN, pair-verify), the\n"
	"     encrypted session, and a player whose state commands change (see MRP).\n"
	"\n"
	"OPTIONS\n"
	"     -d, --device FILE.json\n"
	"             The device to be (required; see DEVICE FILE).\n"
	"     -u, --unicast ADDR[:PORT]\n"
	"             Answer on UDP ADDR:PORT (PORT 5353 by default, 0 for any free port) as\n"
	"             to legacy unicast queries (RFC 6762 6.7): to the sender, with the\n"
	"             query's ID, the questions repeated, QR=1 AA=1 and TTL 10, whatever the\n"
	"             QU bit says.  Repeatable.  Without --unicast and --multicast the\n"
	"             device file's address is used, on port 5353.\n"
	"     -m, --multicast IFADDR\n"
	"             Join 224.0.0.251 on the interface with IPv4 address IFADDR, listen on\n"
	"             *:5353 and answer queries from port 5353 by multicast (by unicast to\n"
	"             the sender when every question has the QU bit, or when the query was\n"
	"             sent to us directly), and queries from other ports as legacy unicast;\n"
	"             announce every service once at start.  Refused (exit 2) unless the\n"
	"             process is in a network namespace other than PID 1's: it must never\n"
	"             send mDNS on a real network.  Use it under `ip netns exec'.\n"
	"     -r, --ready-file PATH\n"
	"             When every socket is bound, write \"ready\" and then one line per bound\n"
	"             socket, \"PROTO ADDRESS:PORT\" (\"mdns 127.0.0.2:5353\",\n"
	"             \"mdns-multicast 10.214.0.1:5353\"), to PATH.tmp and rename it to PATH.\n"
	"     -H, --hostile MODE\n"
	"             Answer every query with a broken reply (see HOSTILE MODES).\n"
	"     -S, --sleeping\n"
	"             Answer as a sleep proxy does for a sleeping device: every SRV port is 0.\n"
	"     -M, --mrp-port N\n"
	"             Serve MRP on port N instead of the service's (0: any free port).  The\n"
	"             mDNS answers and the ready file (\"mrp PORT\") name the real port.\n"
	"     -D, --dmap-port N\n"
	"             Serve DMAP on port N instead of the _touch-able._tcp service's (0: any\n"
	"             free port); the ready file says \"dmap PORT\".\n"
	"     -A, --airplay-port N\n"
	"             Serve AirPlay on port N instead of the _airplay._tcp service's (0: any\n"
	"             free port); the ready file says \"airplay PORT\".\n"
	"     -C, --companion-port N\n"
	"             Serve Companion on port N instead of the _companion-link._tcp\n"
	"             service's (0: any free port); the ready file says \"companion PORT\".\n"
	"     -P, --pairings FILE\n"
	"             Keep paired controllers in FILE as well as in memory, so a restarted\n"
	"             fake still knows them: JSON lines {\"protocol\":\"mrp\"|\"airplay\"|\n"
	"             \"companion\",\n"
	"             \"id\":HEX,\"ltpk\":HEX} (lines without a protocol are MRP's).\n"
	"     -c, --control PATH\n"
	"             Listen on the unix stream socket PATH for control commands (see\n"
	"             CONTROL).\n"
	"     -v, --verbose\n"
	"             Log each query received and each reply sent, and each MRP message\n"
	"             (its type), on stderr; never keys, PINs or credentials.  Start-up,\n"
	"             connections closed for errors and fatal errors are always logged.\n"
	"     -h, --help\n"
	"             Print this text.\n"
	"\n"
	"DEVICE FILE\n"
	"     One JSON object:\n"
	"       {\"name\":\"Living Room\", \"host\":\"Living-Room\", \"address\":\"127.0.0.2\",\n"
	"        \"services\":[{\"type\":\"_mediaremotetv._tcp\", \"name\":\"Living Room\",\n"
	"                     \"port\":49152, \"txt\":{\"Name\":\"Living Room\", ...}}, ...]}\n"
	"     host is one label (A records are for \"<host>.local\"); address is what A\n"
	"     records say (default: the address the query came in on); a service name is\n"
	"     one label of at most 63 bytes, spaces, dots and UTF-8 allowed; each TXT\n"
	"     member becomes the string \"key=value\" (null: just \"key\") of at most 255\n"
	"     bytes, in file order.  Other fields are ignored (later servers read them).\n"
	"     \"pin\" (digits, default \"1111\") is the PIN pair-setup expects.\n"
	"     A file that is not like this is an error (exit 2).\n"
	"\n"
	"MRP\n"
	"     The accessory's pairing identifier is the service's UniqueIdentifier and its\n"
	"     Ed25519 seed the first 32 bytes of SHA-512(\"fake-atv:\" + UniqueIdentifier).\n"
	"     DEVICE_INFO is answered in the clear, CRYPTO_PAIRING carries HAP pair-setup\n"
	"     and pair-verify, then everything is ChaCha20-Poly1305 encrypted; any other\n"
	"     message before that closes the connection.  CLIENT_UPDATES_CONFIG makes\n"
	"     the state pushed, whatever its flags say (as real devices do):\n"
	"     SET_STATE + SET_NOW_PLAYING_CLIENT (now playing),\n"
	"     VOLUME_CONTROL_AVAILABILITY + VOLUME_DID_CHANGE (volume), DEVICE_INFO_UPDATE\n"
	"     (power: logicalDeviceCount 1 or 0; isGroupLeader).  PLAYBACK_QUEUE_REQUEST\n"
	"     with any artwork size (0 x -1 too) answers with the artwork (a 4x4 PNG).\n"
	"     Every message with an identifier that is handled gets one reply with it\n"
	"     (an empty type 0 message when there is nothing to say), after the pushes\n"
	"     it caused.  Commands: play, pause,\n"
	"     play/pause, stop, next/previous (a 3-track playlist), skip +-15 s (or\n"
	"     skipInterval), seek, shuffle and repeat modes; HID keys are logged as taps,\n"
	"     double taps (<= 300 ms apart) or holds (>= 800 ms); volume keys +-5,\n"
	"     suspend/wakeup, home held then select (turn off); WAKE_DEVICE turns on.\n"
	"\n"
	"CONTROL\n"
	"     One command a line; each gets one reply line, \"ok [...]\" or \"error MSG\":\n"
	"     state             ok {\"power\",\"volume\",\"playing\":{...},\"keys\",\"commands\",\n"
	"                       \"refused\",\"connections\",\"verified\",\"subscribed\",\n"
	"                       \"pairings\",\"pairing_ids\",\"mrp_port\"}\n"
	"     set F=V...        now-playing fields (media_type device_state title artist\n"
	"                       album genre total_time elapsed timestamp rate shuffle\n"
	"                       repeat series_name season_number episode_number\n"
	"                       content_identifier app app_id); %XX escapes (%20 is a\n"
	"                       space), \"null\" clears; pushed\n"
	"     power on|off, volume N      pushed\n"
	"     drop              close every MRP connection (ok N)\n"
	"     mrp-port N        listen on port N instead, announce it (ok PORT)\n"
	"     hostile MODE      to every verified connection: huge-varint, truncated,\n"
	"                       bad-ciphertext, garbage-protobuf, unknown-type (ok N)\n"
	"     revoke            forget every pairing\n"
	"     pin DIGITS        the PIN later pair-setups expect\n"
	"     refuse [CMD...]   these commands fail (CommandFailed); none: all work\n"
	"\n"
	"DMAP\n"
	"     With a _touch-able._tcp service, DAAP/DACP over HTTP on its port at the MRP\n"
	"     address, on the same player: GET /login?pairing-guid=0x... (a GUID in the\n"
	"     device's \"dmap\":{\"guids\":[...]} or paired by dmap-pair) or ?hsgid=<hG of\n"
	"     _appletv-v2._tcp> gives mlog{mstt,mlid}, else 503; everything else needs\n"
	"     session-id (else 403): ctrl-int/1/playstatusupdate?revision-number=R (held\n"
	"     while R is the current revision, up to 60 s), play, pause, playpause, stop,\n"
	"     nextitem, previtem, volumeup, volumedown (a volume key: +-5),\n"
	"     setproperty?dacp.playingtime=MS|dacp.shufflestate=0/1|\n"
	"     dacp.repeatstate=0/1/2|dmcp.volume=N, getproperty?properties=dmcp.volume,\n"
	"     controlpromptentry (cmbe select|menu|topmenu|touchDown/Move/Up drags),\n"
	"     nowplayingartwork (PNG).\n"
	"     Control: dmap-pair PIN [HOST:PORT] [SERVICENAME] [GUID=0x...] (GET /pair on\n"
	"     a Remote, found through avahi's _touch-remote._tcp and its TXT Pair when\n"
	"     HOST:PORT or GUID is missing; ok STATUS), hostile-dmap MODE (none,\n"
	"     lying-length, deep-nesting, truncated, garbage: every later body after\n"
	"     login), dmap-drop (forget the sessions: ok N).\n"
	"\n"
	"AIRPLAY\n"
	"     With an _airplay._tcp service, HTTP (and RTSP: MRP TUNNEL) on its port at\n"
	"     the MRP address.  The\n"
	"     pairing identity is TXT pi, the Ed25519 seed the first 32 bytes of\n"
	"     SHA-512(\"fake-atv-airplay:\" + pi).  GET /info (binary plist: deviceID,\n"
	"     features, model, name, pi, pk, protocolVersion, sourceVersion,\n"
	"     statusFlags); POST /pair-pin-start logs \"airplay pin: PIN\"; POST\n"
	"     /pair-setup (HAP with the PIN, or transient with Flags 0x10 and PIN 3939 up\n"
	"     to M4 on AirPlay 2 devices whose pairing is optional) and /pair-verify\n"
	"     (TLV8).  After pair-verify on AirPlay 2 (features bit 38 or 48) and after\n"
	"     transient M4, both directions are HAP blocks with the Control-Salt keys;\n"
	"     AirPlay 1 stays plain.  When TXT flags has 0x208 (pairing mandatory),\n"
	"     anything but /info and pairing needs a verified connection (else 470).\n"
	"     POST /play (plist Content-Location, Start-Position-Seconds) starts a video:\n"
	"     loading for loading_ms (300), then playing for duration (2 s) of video,\n"
	"     then ended; GET /playback-info describes it; POST /scrub?position=S,\n"
	"     /rate?value=R (0 pauses), /stop.  The device's optional \"airplay\":\n"
	"     {\"duration\":S, \"loading_ms\":MS, \"error\":\"URL-PART\"} sets the defaults.\n"
	"     Control: airplay-state (ok {airplay_port, pairings, connections, encrypted,\n"
	"     requests, video: {url, start, state, position, rate, duration}, ...}; also\n"
	"     under \"airplay\" in state), airplay-pin PIN, airplay-fail PATH STATUS [N]\n"
	"     [REASON...] (the next N requests to PATH, * for any, get STATUS and REASON\n"
	"     as text/plain; airplay-fail clear), airplay-video duration S | loading MS |\n"
	"     error [URL-PART] (a /play whose URL contains it fails after loading),\n"
	"     airplay-hostile MODE (until none: plist, deep-plist, plist-bomb, huge-body on\n"
	"     /playback-info; bad-block, huge-block on encrypted connections),\n"
	"     airplay-drop (close every connection: ok N), airplay-revoke (forget the\n"
	"     pairings: ok N).\n"
	"\n"
	"MRP TUNNEL (AIRPLAY 2)\n"
	"     After pair-verify (or transient pair-setup) on AirPlay 2, RTSP/1.0 on the\n"
	"     same connection plays a tvOS 15+ Apple TV or a HomePod: SETUP {session}\n"
	"     listens on a new event port ({eventPort, timingPort}, or {eventPort,\n"
	"     skipRecord: true} when the device has \"tunnel\":{\"skip_record\":true});\n"
	"     on the event channel (Events-Salt keys) the device sends POST /command\n"
	"     RTSP/1.0, CSeq 0, {type: updateInfo, value: {deviceID, model, name, ...}}\n"
	"     after RECORD (at once under skip_record); RECORD is 200 with Audio-\n"
	"     Latency: 0; SETUP {streams: [{type 130, seed}]} listens on a data port\n"
	"     ({streams: [{type 130, streamID 1, dataPort}]}); the data channel\n"
	"     (DataStream-Salt + the seed in unsigned decimal) carries 32-byte-header\n"
	"     frames: every sync is answered at once by a rply with the same seqno and\n"
	"     {}; the MRP messages in params.data (several per frame, or one bare) go to\n"
	"     the same MRP server and player as the direct MRP port, without\n"
	"     CRYPTO_PAIRING, and its answers and pushes come back as sync/cmnd frames;\n"
	"     POST /feedback is 200; TEARDOWN with streams closes the data channel,\n"
	"     without the session.  An updateInfo not answered within 30 s (the\n"
	"     device's \"tunnel\":{\"info_timeout_ms\":MS}) closes the event channel, as\n"
	"     real devices do.  Without an MRP service (a HomePod) MRP is served\n"
	"     only here, under TXT pi.  An MRP service whose SystemBuildVersion is 19\n"
	"     or later (tvOS 15+) is announced, but its port closes every connection\n"
	"     at once, as such devices do.\n"
	"     Control: tunnel-state (ok {sessions, event_channels, data_channels,\n"
	"     setups, records, feedback, teardowns, updateinfo_sent,\n"
	"     updateinfo_answered, frames_in, syncs_in, rplys_in, messages,\n"
	"     message_types, frames_out, hostile, skip_record, mrp_peers}; also under\n"
	"     airplay-state's \"tunnel\"), tunnel-drop control|event|data (close that\n"
	"     connection of every session: ok N), tunnel-hostile MODE (until none):\n"
	"     bad-frame-size (a header size of 16), huge-frame (2^32-1), wrong-type\n"
	"     (type \"junk\"), garbage-bplist (a payload that is no plist): every\n"
	"     frame the device sends from then on, and one at once on an open data\n"
	"     channel; huge-block (a HAP block header of 65535 bytes, 30 of them, then\n"
	"     the end); no-rply (syncs go unanswered); close-event (the event channel\n"
	"     closes as it opens); big-blocks (valid 16 KB HAP blocks, as tvOS 27).\n"
	"     Devices: den.json (tvOS 17 Apple TV), office.json (tvOS 27, skip_record),\n"
	"     homepod.json (transient pairing, no MRP service).\n"
	"COMPANION\n"
	"     With a _companion-link._tcp service that has TXT rpMRtID, Companion on its\n"
	"     port at the MRP address.  The pairing identity is rpMRtID, the Ed25519 seed\n"
	"     the first 32 bytes of SHA-512(\"fake-atv-companion:\" + rpMRtID).  Frames\n"
	"     (type, 3-byte length) of OPACK dicts: pair-setup {_pd} with the PIN (M2\n"
	"     adds TLV 0x1B=01 and _pwTy 1, M6 a Name item {name, model}), pair-verify,\n"
	"     then ChaCha20-Poly1305 (12-byte counter nonce, header as AAD).  Requests\n"
	"     get one reply with their _i and _x, or _em/_ec/_ed (\"No request handler\",\n"
	"     58822): _systemInfo (a non-empty _i, else an error and the connection\n"
	"     closes; with evict_shared_id the same _i again closes the older\n"
	"     connection), _sessionStart/\n"
	"     _sessionStop (id ours<<32|theirs), TVRCSessionStart (echoed), _touchStart\n"
	"     (0 < width, height <= 1000)/_touchStop, _tiStart (the text field as an\n"
	"     NSKeyedArchiver _tiD)/_tiStop, FetchAttentionState ({state}: 1 off, 2\n"
	"     screensaver, 3 awake, 4 idle; unanswered before TVRCSessionStart, as tvOS\n"
	"     26.5), _hidC (down then up; sleep/wake up-only set the power; keys are\n"
	"     logged), _mcc 1-13 (play, pause, next, previous, volume get/set, skip),\n"
	"     FetchLaunchableApplicationsEvent, _launchApp (_bundleID: the current app;\n"
	"     _urlS: kept, its scheme's app opened), FetchUserAccountsEvent,\n"
	"     SwitchUserAccountEvent.  Events: _interest (SystemStatus and TVSystemStatus\n"
	"     {state} pushed at power and attention changes, _iMC {_mcF} at volume\n"
	"     changes), _hidT, _tiC (textToAssert replaces, insertionText appends).\n"
	"     The device's optional \"companion\": {\"apps\":{BUNDLE:NAME}, \"accounts\":\n"
	"     {ID:NAME}, \"account\":ID, \"url_apps\":{SCHEME:BUNDLE}, \"text\":S,\n"
	"     \"keyboard\":BOOL, \"attention_needs_tvrc\":BOOL (true),\n"
	"     \"evict_shared_id\":BOOL (false)} sets the defaults.\n"
	"     Control: companion-state (ok {companion_port, pairings, clients: [{peer,\n"
	"     client_id, session, tvrc, interests, ...}], power, attention, apps, app, url,\n"
	"     accounts, account, keyboard, text, keys, requests, touch, system_info,\n"
	"     hostile}; also under \"companion\" in state), companion-apps BUNDLE=NAME...,\n"
	"     companion-accounts ID=NAME... (%XX escapes), companion-account ID,\n"
	"     companion-text [TEXT...], companion-keyboard on|off (pushes _tiStarted/\n"
	"     _tiStopped), companion-attention awake|screensaver|idle (pushed),\n"
	"     companion-hostile MODE (every reply until none: huge-frame, truncated,\n"
	"     bad-tag, garbage-opack, deep-opack, silent, wrong-xid), companion-pin PIN,\n"
	"     companion-drop (ok N), companion-revoke (ok N).  power on|off is pushed.\n"
	"AUDIO (RAOP AND AIRPLAY 2)\n"
	"     The AirPlay port also receives audio, as real receivers do (the _raop._tcp\n"
	"     service shares it).  RAOP: OPTIONS, ANNOUNCE (SDP: L16 or AppleLossless,\n"
	"     16-bit, 1-2 channels), SETUP (UDP server, control and timing ports on the\n"
	"     fake's address in Transport), RECORD (Audio-Latency), SET_PARAMETER\n"
	"     (volume dB, progress, DMAP minm/asar/asal, image/*), GET_PARAMETER volume,\n"
	"     FLUSH, TEARDOWN, POST /feedback, POST /auth-setup; with a password, HTTP\n"
	"     Digest (realm raop) on all but OPTIONS.  AirPlay 2: a stream SETUP of type\n"
	"     96 (ct 1 PCM or 2 ALAC, spf, sr, shk, controlPort) in a verified session\n"
	"     opens the data and control ports; payloads are ChaCha20-Poly1305 with shk\n"
	"     (AAD: the RTP timestamp and SSRC; the nonce's last 8 bytes end the\n"
	"     packet).  RTP is put back in order (a window of 256), a gap is asked for\n"
	"     once (0xd5 to the sender's control port) and filled by its 0xd6; the\n"
	"     fake asks the sender's timing port once (0xd2) and answers 0xd2 with\n"
	"     0xd3.  Uncompressed ALAC and L16 are decoded; the PCM's FNV-1a 64\n"
	"     (int16 little-endian, interleaved) leaves out trailing silence.  The\n"
	"     device's optional \"raop\":{\"password\":PW, \"latency\":FRAMES}; a _raop._tcp\n"
	"     TXT pw=true needs the password.  One session at a time.\n"
	"     Control: audio-state (ok {protocol raop|airplay2, state idle|announced|\n"
	"     setup|recording|flushed|teardown, codec, rate, channels,\n"
	"     frames_per_packet, sessions, packets, frames, samples, pcm_frames,\n"
	"     pcm_fnv1a64, lost, late, reordered, timestamp_jumps, dropped,\n"
	"     retransmit_requests, retransmit_requested_packets, recovered,\n"
	"     bad_packets, syncs, sync_rtp, timing_requests, timing_replies, records,\n"
	"     flushes, feedback, options, auth_ok, auth_failed, auth_setup, latency,\n"
	"     drop_every, first_rtp, last_rtp, volume, title, artist, album, progress,\n"
	"     artwork_mime, artwork_size, drift_ms (the last packet's lateness against\n"
	"     the first's on the monotonic clock), max_ahead_ms (the most a packet came\n"
	"     early: a burst), max_late_ms, flushed, teardown, password, hostile,\n"
	"     last_error}), audio-drop N (drop every Nth new data packet: the sender\n"
	"     must resend it; 0 off), audio-password PW|off, audio-reset, audio-hostile\n"
	"     MODE (until none): rtsp-endless (an answer head that never ends: 128 KiB\n"
	"     of header lines, no blank line), huge-length (Content-Length 1 GiB, no\n"
	"     body), garbage-setup (Transport server_port=99999999, Session not a\n"
	"     number), retransmit-unsent (at the next sync, a request for packets\n"
	"     never sent, once), retransmit-flood (at the next sync, 1000 requests,\n"
	"     once), timing-silent (timing requests go unanswered).\n"
	"     Devices: airport.json (AirPlay 1, et 0,4: /auth-setup), homepod.json,\n"
	"     speaker.json, den.json and office.json (AirPlay 2).\n"
	"\n"
	"HOSTILE MODES\n"
	"     Each is a real reply on the wire, with the query's ID (legacy unicast):\n"
	"     truncated         a valid reply cut in the middle of its last record\n"
	"     loop              a PTR whose name points back into itself (a cycle)\n"
	"     pointer-past-end  a compression pointer beyond the end of the packet\n"
	"     lying-rdlength    an rdlength larger than the rest of the packet\n"
	"     huge-count        ancount 65535 with one record\n"
	"     garbage           random bytes after the ID and flags (fixed seed)\n"
	"     query             a valid reply with QR=0\n"
	"     long-txt          a TXT string whose length byte runs past the packet\n"
	"     many-services     300 PTR answers\n"
	"\n"
	"EXIT STATUS\n"
	"     0 stopped by SIGTERM or SIGINT; 2 usage or device file error; 7 a socket\n"
	"     could not be set up.\n"
	"\n"
	"EXAMPLES\n"
	"     fake-atv --device t/fake-atv/devices/livingroom.json \\\n"
	"         --unicast 127.0.0.2 --ready-file lr.ready -v &\n"
	"     ip netns exec fkA fake-atv --device kitchen.json --multicast 10.214.0.1\n";

/* ---- the program ---- */

struct opts {
	const char *device, *multicast, *ready, *control;
	const char *unicast[16];
	size_t n_unicast;
	struct fake_mdns_opts mdns;
	struct fake_mrp_opts mrp;
	int dmap_port;
	int airplay_port;
	int companion_port;
	int verbose;
};

/* The servers main() starts and stops. */
struct servers {
	struct fake_player *player;
	struct fake_mdns *mdns;
	struct fake_mrp *mrp;
	struct fake_control *control;
	struct fake_dmap *dmap;
	struct fake_airplay *airplay;
	struct fake_companion *companion;
};

static void log_stderr(enum atv_loglevel level, const char *msg, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "fake-atv: %s%s\n", level == ATV_LOG_WARN ? "warning: " : "", msg);
}

static void on_signal(struct fake_loop *loop, int fd, short revents, void *ctx)
{
	struct signalfd_siginfo si;

	(void)revents;
	(void)ctx;
	if (read(fd, &si, sizeof si) == (ssize_t)sizeof si)
		atv_debug("signal %u, stopping", si.ssi_signo);
	fake_loop_quit(loop, 0);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("fake-atv: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nusage: fake-atv --device FILE.json [--unicast ADDR[:PORT]]... "
	      "[--multicast IFADDR] [--ready-file PATH] [--hostile MODE] [--sleeping] "
	      "[--mrp-port N] [--dmap-port N] [--airplay-port N] [--companion-port N] "
	      "[--pairings FILE] "
	      "[--control PATH] [-v]\n",
	      stderr);
	return ATV_EXIT_USAGE;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"device", required_argument, NULL, 'd'},
		{"unicast", required_argument, NULL, 'u'},
		{"multicast", required_argument, NULL, 'm'},
		{"ready-file", required_argument, NULL, 'r'},
		{"hostile", required_argument, NULL, 'H'},
		{"sleeping", no_argument, NULL, 'S'},
		{"mrp-port", required_argument, NULL, 'M'},
		{"dmap-port", required_argument, NULL, 'D'},
		{"airplay-port", required_argument, NULL, 'A'},
		{"companion-port", required_argument, NULL, 'C'},
		{"pairings", required_argument, NULL, 'P'},
		{"control", required_argument, NULL, 'c'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char *end;
	long port;
	int c, h;

	while ((c = getopt_long(argc, argv, "d:u:m:r:H:SM:D:A:C:P:c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->device = optarg; break;
		case 'm': o->multicast = optarg; break;
		case 'r': o->ready = optarg; break;
		case 'S': o->mdns.sleeping = true; break;
		case 'P': o->mrp.pairings = optarg; break;
		case 'c': o->control = optarg; break;
		case 'M':
		case 'D':
		case 'A':
		case 'C':
			errno = 0;
			port = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || port < 0 || port > 65535)
				return usage_error("bad --%s-port \"%s\" (0 to 65535)",
						   c == 'M'   ? "mrp"
						   : c == 'D' ? "dmap"
						   : c == 'C' ? "companion"
							      : "airplay",
						   optarg);
			if (c == 'M')
				o->mrp.port = (int)port;
			else if (c == 'D')
				o->dmap_port = (int)port;
			else if (c == 'C')
				o->companion_port = (int)port;
			else
				o->airplay_port = (int)port;
			break;
		case 'v': o->verbose++; break;
		case 'h': fputs(usage_text, stdout); return fflush(stdout) ? ATV_EXIT_IO : 0;
		case 'u':
			if (o->n_unicast == sizeof o->unicast / sizeof o->unicast[0])
				return usage_error("too many --unicast addresses");
			o->unicast[o->n_unicast++] = optarg;
			break;
		case 'H':
			if ((h = fake_hostile_parse(optarg)) < 0)
				return usage_error("unknown hostile mode \"%s\" (one of: %s)",
						   optarg, fake_hostile_names());
			o->mdns.hostile = (enum fake_hostile)h;
			break;
		default: return usage_error("bad option");
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	if (!o->device)
		return usage_error("--device is required");
	return -1;
}

/* The MRP address: the first --unicast one, else --multicast's, else the
 * device's. */
static void mrp_address(const struct opts *o, const struct fake_device *dev, char *buf,
			size_t size)
{
	buf[0] = '\0';
	if (o->n_unicast)
		snprintf(buf, size, "%.*s", (int)strcspn(o->unicast[0], ":"), o->unicast[0]);
	else if (o->multicast)
		snprintf(buf, size, "%s", o->multicast);
	else if (dev->has_address)
		inet_ntop(AF_INET, &dev->address, buf, (socklen_t)size);
}

static int start_mdns(struct fake_loop *loop, const struct opts *o,
			 const struct fake_device *dev, struct fake_mdns **mdns,
			 struct atv_err *err)
{
	char def[INET_ADDRSTRLEN];
	int r;

	if ((r = fake_mdns_new(loop, dev, &o->mdns, mdns, err)) < 0)
		return r;
	for (size_t i = 0; i < o->n_unicast; i++)
		if ((r = fake_mdns_add_unicast(*mdns, o->unicast[i], err)) < 0)
			return r;
	if (o->multicast && (r = fake_mdns_add_multicast(*mdns, o->multicast, err)) < 0)
		return r;
	if (o->n_unicast || o->multicast)
		return 0;
	if (!dev->has_address)
		return atv_err_set(err, ATV_E_USAGE,
				   "no --unicast or --multicast, and no address in the device");
	inet_ntop(AF_INET, &dev->address, def, sizeof def);
	return fake_mdns_add_unicast(*mdns, def, err);
}

/* MRP first, so that the mDNS announcements name its real port; the ready
 * file still lists the mDNS sockets first. */
static int start_servers(struct fake_loop *loop, const struct opts *o, struct fake_device *dev,
			 struct servers *sv, struct atv_err *err)
{
	struct fake_mrp_opts mo = o->mrp;
	struct fake_dmap_opts dmo = {NULL, o->dmap_port};
	struct fake_airplay_opts apo = {NULL, o->airplay_port, o->mrp.pairings};
	struct fake_companion_opts cpo = {NULL, o->companion_port, o->mrp.pairings};
	char addr[INET_ADDRSTRLEN], line[32];
	int r;

	mrp_address(o, dev, addr, sizeof addr);
	mo.address = addr[0] ? addr : NULL;
	dmo.address = mo.address;
	apo.address = mo.address;
	cpo.address = mo.address;
	if ((r = fake_player_new(&sv->player, err)) < 0 ||
	    (r = fake_mrp_new(loop, dev, sv->player, &mo, &sv->mrp, err)) < 0 ||
	    (r = fake_dmap_new(loop, dev, sv->player, &dmo, &sv->dmap, err)) < 0 ||
	    (r = fake_airplay_new(loop, dev, &apo, &sv->airplay, err)) < 0 ||
	    (r = fake_companion_new(loop, dev, sv->player, &cpo, &sv->companion, err)) < 0 ||
	    (r = start_mdns(loop, o, dev, &sv->mdns, err)) < 0)
		return r;
	/* AirPlay 2's tunnel serves the same MRP (and so the same player) */
	fake_airplay_set_mrp(sv->airplay, sv->mrp);
	if (fake_mrp_port(sv->mrp) >= 0) {
		snprintf(line, sizeof line, "mrp %d", fake_mrp_port(sv->mrp));
		if ((r = fake_loop_note(loop, line, err)) < 0)
			return r;
	}
	if (fake_dmap_port(sv->dmap) >= 0) {
		snprintf(line, sizeof line, "dmap %d", fake_dmap_port(sv->dmap));
		if ((r = fake_loop_note(loop, line, err)) < 0)
			return r;
	}
	if (fake_airplay_port(sv->airplay) >= 0) {
		snprintf(line, sizeof line, "airplay %d", fake_airplay_port(sv->airplay));
		if ((r = fake_loop_note(loop, line, err)) < 0)
			return r;
	}
	if (fake_companion_port(sv->companion) >= 0) {
		snprintf(line, sizeof line, "companion %d", fake_companion_port(sv->companion));
		if ((r = fake_loop_note(loop, line, err)) < 0)
			return r;
	}
	if (o->control) {
		if ((r = fake_control_new(loop, o->control, sv->player, sv->mrp, &sv->control, err)) < 0)
			return r;
		fake_control_set_dmap(sv->control, sv->dmap);
		fake_control_set_airplay(sv->control, sv->airplay);
		fake_control_set_companion(sv->control, sv->companion);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {.device = NULL, .mrp = {.port = -1}, .dmap_port = -1, .airplay_port = -1,
		       .companion_port = -1};
	struct fake_loop *loop = NULL;
	struct fake_device dev;
	struct servers sv = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
	struct atv_err err = {0, ""};
	sigset_t sigs;
	int sfd = -1, r;

	signal(SIGPIPE, SIG_IGN);
	if ((r = parse_args(argc, argv, &o)) >= 0)
		return r;
	atv_log_set(log_stderr, o.verbose ? ATV_LOG_DEBUG : ATV_LOG_INFO, NULL);
	if ((r = fake_device_load(o.device, &dev, &err)) < 0) {
		fprintf(stderr, "fake-atv: %s\n", err.msg);
		return ATV_EXIT_USAGE;
	}
	/* signals arrive as a readable fd, so a stop is just another event */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		r = atv_err_sys(&err, ATV_E_IO, errno, "signalfd");
	else if ((r = fake_loop_new(&loop, &err)) == 0 &&
		 (r = fake_loop_add_fd(loop, sfd, POLLIN, on_signal, NULL, &err)) == 0 &&
		 (r = start_servers(loop, &o, &dev, &sv, &err)) == 0 &&
		 (!o.ready || (r = fake_loop_write_ready(loop, o.ready, &err)) == 0)) {
		atv_info("%s (%s.local, %zu services) up", dev.name, dev.host, dev.n_svcs);
		r = fake_loop_run(loop, &err);
	}
	if (r < 0) {
		fprintf(stderr, "fake-atv: %s\n", err.msg);
		/* usage and config problems are 2, socket trouble 7 */
		r = r == -ATV_E_USAGE || r == -ATV_E_INPUT ? ATV_EXIT_USAGE : atv_exit_status(r);
	}
	fake_control_free(sv.control);
	fake_companion_free(sv.companion);
	fake_airplay_free(sv.airplay);
	fake_dmap_free(sv.dmap);
	fake_mdns_free(sv.mdns);
	fake_mrp_free(sv.mrp);
	fake_player_free(sv.player);
	if (sfd >= 0)
		close(sfd);
	fake_loop_free(loop);
	fake_device_release(&dev);
	return r;
}
