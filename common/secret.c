/* common/secret.c: the pepper file, PIN hashes and keyed fingerprints. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

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

struct mac64 {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

struct mac64 *
mac64_new(const uint8_t pepper[PEPPER_LEN], const char *purpose)
{
	struct mac64 *m = xcalloc(1, sizeof *m);
	uint8_t key[32];
	unsigned int klen = sizeof key;
	size_t size = 8;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_construct_end(),
	};

	HMAC(EVP_sha256(), pepper, PEPPER_LEN, (const uint8_t *)purpose, strlen(purpose), key, &klen);
	m->mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	m->ctx = m->mac != NULL ? EVP_MAC_CTX_new(m->mac) : NULL;
	/* SipHash takes 16 key bytes; the size is set with the key, and kept by each init */
	if (m->ctx == NULL || !EVP_MAC_init(m->ctx, key, 16, params)) {
		OPENSSL_cleanse(key, sizeof key);
		mac64_free(m);
		return NULL;
	}
	OPENSSL_cleanse(key, sizeof key);
	return m;
}

uint64_t
mac64(struct mac64 *m, const void *data, size_t len)
{
	uint8_t out[8];
	size_t n = 0;
	uint64_t v = 0;

	if (!EVP_MAC_init(m->ctx, NULL, 0, NULL) || !EVP_MAC_update(m->ctx, data, len) ||
	    !EVP_MAC_final(m->ctx, out, &n, sizeof out) || n != sizeof out)
		fatal("mac64: SipHash failed");
	for (int i = 7; i >= 0; i--)
		v = v << 8 | out[i];
	return v;
}

void
mac64_free(struct mac64 *m)
{
	if (m == NULL)
		return;
	EVP_MAC_CTX_free(m->ctx);
	EVP_MAC_free(m->mac);
	free(m);
}
