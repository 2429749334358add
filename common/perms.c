/* common/perms.c: files holding secrets must not be open to other users. The config
 * (SMPP password, provider secrets), the database and its WAL (PIN and key hashes,
 * money), the pepper and the TLS key are refused when others may read or write them;
 * group access is allowed, for a rechargd group. See docs/security.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"

/* A provider key whose value is a credential. */
static int
perms_secret_key(const char *key)
{
	return strcmp(key, "secret") == 0 || strcmp(key, "callback_secret") == 0 ||
	    strstr(key, "password") != NULL || strstr(key, "api_key") != NULL;
}

int
config_has_secrets(const struct config *cfg)
{
	if (cfg->password != NULL && cfg->password[0] != '\0')
		return 1;
	for (int i = 0; i < cfg->nproviders; i++)
		for (int k = 0; k < cfg->providers[i].nkv; k++)
			if (perms_secret_key(cfg->providers[i].kv[k].key) &&
			    cfg->providers[i].kv[k].value[0] != '\0')
				return 1;
	return 0;
}

/* 1 when the file exists and others may read or write it (its mode in *mode). */
static int
perms_open_to_others(const char *path, unsigned *mode)
{
	struct stat st;

	if (path == NULL || path[0] == '\0' || stat(path, &st) != 0)
		return 0;             /* a missing file is reported by whoever opens it */
	*mode = (unsigned)(st.st_mode & 07777);
	return (st.st_mode & (S_IROTH | S_IWOTH)) != 0;
}

/* Sets *cause to the refusal for path, which holds what. */
static int
perms_refuse(char **cause, const char *path, unsigned mode, const char *what)
{
	if (asprintf(cause, "%s is readable or writable by others (mode %04o) and holds %s: "
	    "run chmod 640 %s (or 600)", path, mode, what, path) < 0)
		*cause = NULL;
	return -1;
}

int
config_perms_check(const struct config *cfg, char **cause, char **warning)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	unsigned mode = 0;
	char path[4096];

	*cause = NULL;
	*warning = NULL;
	if (perms_open_to_others(cfg->file, &mode)) {
		if (config_has_secrets(cfg))
			return perms_refuse(cause, cfg->file, mode,
			    "secrets (the SMPP password or a provider secret)");
		if (asprintf(warning, "%s is readable or writable by others (mode %04o): "
		    "run chmod 640 %s", cfg->file, mode, cfg->file) < 0)
			*warning = NULL;
	}
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		snprintf(path, sizeof path, "%s%s", cfg->db_path, suffixes[i]);
		if (perms_open_to_others(path, &mode))
			return perms_refuse(cause, path, mode, "PIN and API key hashes and the ledger");
	}
	if (perms_open_to_others(cfg->pepper_file, &mode))
		return perms_refuse(cause, cfg->pepper_file, mode, "the PIN pepper");
	if (perms_open_to_others(cfg->tls_key, &mode))
		return perms_refuse(cause, cfg->tls_key, mode, "the TLS private key");
	return 0;
}

void
perms_umask_tighten(void)
{
	mode_t old = umask(0);

	umask(old | S_IRWXO | S_IWGRP);
}
