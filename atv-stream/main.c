/* atv-stream - play an audio file or raw PCM from stdin on an AirPlay
 * receiver (RAOP or AirPlay 2), then print one result line. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "crypto.h"
#include "audio.h"
#include "jsonl.h"
#include "output.h"
#include "stream.h"
#include "tool.h"
#include "banned.h"

#define PASSWORD_MAX 256

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-v] [-i ID | -n NAME] [-s HOST[:PORT],...] [-t SECONDS] [-c FILE]\n"
		"       [-p raop|airplay] [--format KIND:RATE:CHANNELS] [--volume 0-100]\n"
		"       [--title T] [--artist A] [--album A] [--artwork FILE]\n"
		"       [--password-file FILE] [--text|--json] [FILE|-]\n"
		"Play FILE (WAV, FLAC, MP3, Ogg, ... through libsndfile) or raw PCM from stdin\n"
		"on an AirPlay receiver; print one result (JSON) once it has played out.\n"
		"The device config is the first line of stdin unless -i or -n is given (raw\n"
		"audio on stdin then follows that line).\n"
		"  -i, --id ID              scan for this device instead of reading a config\n"
		"  -n, --device-name NAME   scan for the device of this name\n"
		"  -s, --hosts H[:P],...    scan these hosts by unicast (default: multicast)\n"
		"  -t, --timeout SECONDS    for scans, connecting and each request (default 5)\n"
		"  -c, --credentials FILE   credentials file\n"
		"  -p, --protocol P         raop (AirPlay 1) or airplay (AirPlay 2); default:\n"
		"                           what the receiver announces\n"
		"      --format K:RATE:CH   raw PCM: K s16le, s16be, s24le or f32le (default\n"
		"                           s16le:44100:2, the format of stdin)\n"
		"      --volume PERCENT     set the receiver's volume first (0 to 100)\n"
		"      --title T, --artist A, --album A\n"
		"                           what the receiver shows (default: the file's tags)\n"
		"      --artwork FILE       a PNG or JPEG cover to show\n"
		"      --password-file FILE the receiver's password, the file's first line\n"
		"      --text               a readable result line (default on a terminal)\n"
		"      --json               a JSON result line even on a terminal\n"
		"  -v, --verbose            more messages on stderr (twice: debug)\n"
		"  -h, --help               this help;  -V, --version  the version\n",
		atv_progname);
}

/* --volume: a number from 0 to 100. */
static int parse_volume(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (errno || end == s || *end || !(*v >= 0 && *v <= 100)) {
		atv_cli_error("invalid volume '%s' (0 to 100)", s);
		return -1;
	}
	return 0;
}

/* --title and the like: UTF-8 the receiver can take. */
static int check_text(const char *what, const char *s)
{
	if (!atv_utf8_valid(s) || strlen(s) > ATV_RAOP_TEXT_MAX) {
		atv_cli_error("--%s must be UTF-8 of at most %d bytes", what, ATV_RAOP_TEXT_MAX);
		return -1;
	}
	return 0;
}

/* The input: FILE through libsndfile, else raw PCM from FILE or stdin
 * (after what the config line left in tool's buffer). */
static int open_input(struct atv_cli_tool *tool, const char *file, const struct atv_audio_raw *raw,
		      bool raw_given, struct atv_audio **a, int *fd, struct atv_err *err)
{
	const struct atv_cli_lines *in = &tool->in;

	if (file && strcmp(file, "-") != 0 && !raw_given)
		return atv_audio_open_file(file, a, err);
	if (file && strcmp(file, "-") != 0) {
		if ((*fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
			return atv_err_sys(err, ATV_E_IO, errno, "unable to open %s", file);
		return atv_audio_open_raw(*fd, raw, NULL, 0, a, err);
	}
	return atv_audio_open_raw(STDIN_FILENO, raw, in->buf.data + in->used,
				  in->buf.len - in->used, a, err);
}

int main(int argc, char **argv)
{
	static const char *const protocols[] = {"raop", "airplay", NULL};
	static const struct option longopts[] = {
	    ATV_CLI_LONGOPTS,
	    {"protocol", required_argument, NULL, 'p'},
	    {"format", required_argument, NULL, 'F'},
	    {"volume", required_argument, NULL, 'O'},
	    {"title", required_argument, NULL, '1'},
	    {"artist", required_argument, NULL, '2'},
	    {"album", required_argument, NULL, '3'},
	    {"artwork", required_argument, NULL, 'R'},
	    {"password-file", required_argument, NULL, 'P'},
	    {"text", no_argument, NULL, 'T'},
	    {"json", no_argument, NULL, 'J'},
	    {NULL, 0, NULL, 0},
	};
	struct atv_cli_tool tool;
	struct atv_stream_opts o = {0};
	struct atv_audio_raw raw = {ATV_AUDIO_S16LE, 44100, 2};
	struct atv_audio *a = NULL;
	struct atv_device d;
	struct atv_err err = {0};
	char password[PASSWORD_MAX + 1];
	const char *protocol = NULL, *file = NULL;
	bool text = isatty(STDOUT_FILENO), raw_given = false, from_stdin;
	int c, status = ATV_EXIT_OK, fd = -1;

	atv_cli_tool_init(&tool, argv[0], 5000);
	atv_device_init(&d);
	while ((c = getopt_long(argc, argv, ATV_CLI_SHORTOPTS "p:", longopts, NULL)) != -1) {
		switch (atv_cli_tool_opt(&tool, c, optarg, usage)) {
		case ATV_CLI_OPT_DONE: continue;
		case ATV_CLI_OPT_EXIT: return atv_cli_tool_end(&tool, tool.status);
		}
		switch (c) {
		case 'p': protocol = optarg; break;
		case 'F':
			if (atv_audio_parse_format(optarg, &raw, &err) < 0)
				return atv_cli_tool_end(&tool, atv_cli_fail(&err));
			raw_given = true;
			break;
		case 'O':
			if (parse_volume(optarg, &o.raop.volume) < 0)
				return atv_cli_tool_end(&tool, ATV_EXIT_USAGE);
			o.raop.set_volume = true;
			break;
		case '1': o.title = optarg; break;
		case '2': o.artist = optarg; break;
		case '3': o.album = optarg; break;
		case 'R': o.artwork = optarg; break;
		case 'P': o.password_file = optarg; break;
		case 'T': text = true; break;
		case 'J': text = false; break;
		default: usage(stderr); return atv_cli_tool_end(&tool, ATV_EXIT_USAGE);
		}
	}
	if (optind < argc)
		file = argv[optind++];
	if (atv_cli_tool_no_operands(argc, argv, optind, usage) ||
	    atv_cli_protocol(protocol, protocols) < 0 || (o.title && check_text("title", o.title)) ||
	    (o.artist && check_text("artist", o.artist)) ||
	    (o.album && check_text("album", o.album)))
		return atv_cli_tool_end(&tool, ATV_EXIT_USAGE);
	from_stdin = !file || strcmp(file, "-") == 0;
	if (from_stdin && !tool.t.id && !tool.t.name && isatty(STDIN_FILENO)) {
		atv_cli_error("no device config on stdin (give -i ID, or a config and audio on stdin)");
		return atv_cli_tool_end(&tool, ATV_EXIT_USAGE);
	}
	atv_cli_output_text(text);
	o.input = file ? file : "-";
	o.progress = isatty(STDERR_FILENO);
	o.raop.timeout_ms = tool.t.timeout_ms;
	o.raop.name = "atv-tools";
	o.raop.version = !protocol ? ATV_RAOP_AUTO
			 : strcmp(protocol, "raop") == 0 ? ATV_RAOP_V1
							 : ATV_RAOP_V2;
	if (o.password_file) {
		if (atv_stream_password(o.password_file, password, sizeof password, &err) < 0) {
			status = atv_cli_fail_line(&err);
			goto out;
		}
		o.raop.password = password;
	}
	/* a file is checked before the device is looked for; stdin's audio
	 * follows the config line, so that one comes first */
	if (atv_cli_tool_start(&tool, &err) < 0 ||
	    (!from_stdin && open_input(&tool, file, &raw, raw_given, &a, &fd, &err) < 0) ||
	    atv_cli_tool_device(&tool, &d, &err) < 0 ||
	    (from_stdin && open_input(&tool, file, &raw, raw_given, &a, &fd, &err) < 0)) {
		status = atv_cli_fail_line(&err);
		goto out;
	}
	status = atv_stream_run(&tool.t, &d, a, &o);
out:
	if (o.raop.password)
		atv_crypto_wipe(password, sizeof password);
	atv_audio_close(a);
	if (fd >= 0)
		close(fd);
	atv_device_release(&d);
	return atv_cli_tool_end(&tool, status);
}
