/* common/secret.c: the pepper file and PIN hashes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/common.h"

int
pepper_create(const char *path, char **cause)
{
	uint8_t pepper[PEPPER_LEN];
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		if (asprintf(cause, "%s: %s", path, strerror(errno)) < 0)
			*cause = NULL;
		return -1;
	}
	if (random_bytes(pepper, sizeof pepper) != 0 ||
	    write(fd, pepper, sizeof pepper) != (ssize_t)sizeof pepper || fsync(fd) != 0) {
		if (asprintf(cause, "%s: cannot write the pepper", path) < 0)
			*cause = NULL;
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 1;
}

int
pepper_load(const char *path, uint8_t pepper[PEPPER_LEN], char **cause)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0) {
		if (asprintf(cause, "%s: %s (run rechargectl init)", path, strerror(errno)) < 0)
			*cause = NULL;
		return -1;
	}
	n = read(fd, pepper, PEPPER_LEN);
	close(fd);
	if (n != PEPPER_LEN) {
		if (asprintf(cause, "%s: not a pepper file (%d bytes)", path, PEPPER_LEN) < 0)
			*cause = NULL;
		return -1;
	}
	return 0;
}

void
pin_hash(const uint8_t pepper[PEPPER_LEN], const char *msisdn, const char *pin,
    char out[PIN_HASH_BUFSZ])
{
	uint8_t mac[32];
	unsigned int len = sizeof mac;
	char msg[64];
	int n = snprintf(msg, sizeof msg, "%s:%s", msisdn, pin);

	HMAC(EVP_sha256(), pepper, PEPPER_LEN, (const uint8_t *)msg, (size_t)n, mac, &len);
	hex_encode(mac, sizeof mac, out);
	OPENSSL_cleanse(msg, sizeof msg);
}

int
pin_verify(const uint8_t pepper[PEPPER_LEN], const char *msisdn, const char *pin,
    const char *stored_hash)
{
	char h[PIN_HASH_BUFSZ];

	if (strlen(stored_hash) != PIN_HASH_BUFSZ - 1)
		return 0;
	pin_hash(pepper, msisdn, pin, h);
	return ct_equal(h, stored_hash, PIN_HASH_BUFSZ - 1);
}
