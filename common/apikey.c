/* common/apikey.c: API keys as the REST API and rechargectl both need them: making
 * one, hashing one, and the client-address allow-list. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/common.h"

#define APIKEY_RAW 32                  /* random bytes in a key */
/* an address written out: INET6_ADDRSTRLEN with room to spare for blanks */
#define APIKEY_ADDR_MAX 64

/* base64url without padding: the key goes in headers and JSON with no escaping. */
static void
apikey_base64url(const uint8_t *in, size_t len, char *out)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;

	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
		out[o++] = a[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
	}
	out[o] = '\0';
}

int
apikey_generate(char *key, size_t cap)
{
	uint8_t raw[APIKEY_RAW];

	if (key == NULL || cap < APIKEY_BUFSZ) {
		if (key != NULL && cap > 0)
			key[0] = '\0';
		return -1;
	}
	key[0] = '\0';
	if (random_bytes(raw, sizeof raw) != 0)
		return -1;
	memcpy(key, "rk_", 3);
	apikey_base64url(raw, sizeof raw, key + 3);
	explicit_bzero(raw, sizeof raw);
	return 0;
}

/* SHA-256, fetched from its provider once: EVP_sha256() makes every EVP_Digest fetch
 * it again (OpenSSL 3), which cost more than hashing a key (one thread: no lock). Kept
 * for the life of the process. */
static const EVP_MD *
apikey_sha256(void)
{
	static EVP_MD *md;

	if (md == NULL)
		md = EVP_MD_fetch(NULL, "SHA256", NULL);
	return md != NULL ? md : EVP_sha256();
}

void
apikey_hash(const char *key, char out[65])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (EVP_Digest(key, strlen(key), md, &len, apikey_sha256(), NULL) != 1 || len != 32) {
		out[0] = '\0';
		return;
	}
	hex_encode(md, len, out);
}

/* An address in one comparable form: family and bytes, IPv4-mapped IPv6 folded to
 * IPv4 (a dual-stack listener reports IPv4 clients that way). 0 or -1. */
static int
apikey_addr_parse(const char *s, size_t n, int *family, uint8_t addr[16])
{
	char buf[APIKEY_ADDR_MAX];
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = AF_INET6;
		if (memcmp(addr, mapped, sizeof mapped) == 0) {
			memmove(addr, addr + 12, 4);
			memset(addr + 4, 0, 12);
			*family = AF_INET;
		}
		return 0;
	}
	return -1;
}

int
apikey_ip_allowed(const char *allow_ips, const char *ip)
{
	uint8_t want[16], have[16];
	int want_family, have_family;
	size_t len;

	if (allow_ips == NULL || allow_ips[0] == '\0')
		return 1;
	if (ip == NULL)
		return 0;
	len = strnlen(allow_ips, APIKEY_ALLOW_MAX + 1);
	if (len > APIKEY_ALLOW_MAX)
		return 0;
	if (apikey_addr_parse(ip, strnlen(ip, APIKEY_ADDR_MAX), &have_family, have) != 0)
		return 0;
	for (const char *p = allow_ips, *end = allow_ips + len; p <= end;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);
		if (apikey_addr_parse(p, n, &want_family, want) == 0 && want_family == have_family &&
		    memcmp(want, have, 16) == 0)
			return 1;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return 0;
}
