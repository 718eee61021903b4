/* banned.h - C library functions we do not use, made compile errors (the
 * idea of git's banned.h).  Include it last, after every system header, in
 * each .c file of lib/, cli/ and the tools.
 *
 *   strcpy, strcat, strncpy, strncat, sprintf, vsprintf: no bound, or one
 *       that silently truncates without a terminating NUL; use snprintf,
 *       memcpy with a checked length, or struct atv_buf.
 *   gets: no bound at all.
 *   strtok: hidden state; use strtok_r.
 *   gmtime, localtime, ctime, asctime: a shared static result; use the
 *       _r forms (gmtime_r + strftime).
 *   atoi, atol: no error reporting; use strtol/strtoul with end checks.
 *   rand, srand: not random; use atv_random (crypto.h).
 *   mktemp, tmpnam, tempnam: racy names; use mkstemp/mkostemp. */
#ifndef ATV_BANNED_H
#define ATV_BANNED_H

#define ATV_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) ATV_BANNED(strcpy)
#undef strcat
#define strcat(x, y) ATV_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) ATV_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) ATV_BANNED(strncat)
#undef sprintf
#define sprintf(...) ATV_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) ATV_BANNED(vsprintf)
#undef gets
#define gets(x) ATV_BANNED(gets)
#undef strtok
#define strtok(x, y) ATV_BANNED(strtok)
#undef gmtime
#define gmtime(t) ATV_BANNED(gmtime)
#undef localtime
#define localtime(t) ATV_BANNED(localtime)
#undef ctime
#define ctime(t) ATV_BANNED(ctime)
#undef asctime
#define asctime(t) ATV_BANNED(asctime)
#undef atoi
#define atoi(s) ATV_BANNED(atoi)
#undef atol
#define atol(s) ATV_BANNED(atol)
#undef rand
#define rand() ATV_BANNED(rand)
#undef srand
#define srand(s) ATV_BANNED(srand)
#undef mktemp
#define mktemp(t) ATV_BANNED(mktemp)
#undef tmpnam
#define tmpnam(s) ATV_BANNED(tmpnam)
#undef tempnam
#define tempnam(d, p) ATV_BANNED(tempnam)

#endif
