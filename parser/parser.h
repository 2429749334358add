/*
 * parser/: the SMS command grammar of SPEC section 7. Text in (UTF-8), struct
 * parser_command out. No I/O, no database: whether a PIN is needed, whether an
 * operator exists or an amount is in range is the engine's to decide.
 *
 * Tokens are separated by runs of spaces, tabs, '*', '#' and ','; leading and trailing
 * separators are ignored; keywords are case-insensitive. PCRE2 patterns are compiled
 * once (parser_init) with JIT.
 *
 * Where the PIN sits: a last token of 4 to 6 digits that comes after the verb's fixed
 * arguments is always taken as the PIN (pin), whether or not the sender has one; so
 * "RC 9876543210 AIRTEL 2999" is an amount of 2999 and no PIN, and "CMP TXN000000123
 * late 5000" puts 5000 in pin. A stray token where only the PIN may stand is
 * PARSER_ERR_PARAM "pin" (an engine may answer 1011 to a sender with a PIN); more tokens
 * than the verb has room for (PIN included) are PARSER_ERR_UNKNOWN with the verb set.
 * Since ',' separates tokens, an amount typed with digit-group commas ("1,000") is
 * PARSER_ERR_AMOUNT, never Rs 1.
 *
 * Not reentrant: one match block is shared (the daemon parses on its one loop thread).
 */
#ifndef RECHARGD_PARSER_H
#define RECHARGD_PARSER_H

#include <stddef.h>
#include <stdint.h>

enum parser_verb {
	PARSER_NONE = 0,
	PARSER_RC,        /* RC <mobile> <operator> <amount> [<circle>] [<pin>] or RC <mobile> <amount> [<pin>] */
	PARSER_DTH,       /* DTH <subscriber_id> <operator> <amount> [<pin>] */
	PARSER_BAL,       /* BAL [<pin>] */
	PARSER_ST,        /* ST <txn_id> [<pin>] */
	PARSER_LAST,      /* LAST [<pin>] */
	PARSER_CMP,       /* CMP <txn_id> <text...> [<pin>] */
	PARSER_PIN,       /* PIN <new> | PIN <old> <new> */
	PARSER_HELP,      /* HELP */
	/* admin verbs (SPEC section 7, admin commands); the engine refuses them (1010) from a
	 * sender that is not an admin. The admin PIN is always the last token (pin). */
	PARSER_REG,       /* REG <msisdn> <plan> <shop name...> <pin> */
	PARSER_TOPUP,     /* TOPUP <msisdn> <amount> <pin> */
	PARSER_BLOCK,     /* BLOCK <msisdn> <pin> */
	PARSER_UNBLOCK,   /* UNBLOCK <msisdn> <pin> */
};

/* What went wrong; the engine maps these to SPEC error codes. */
enum parser_error {
	PARSER_OK = 0,
	PARSER_ERR_UNKNOWN,      /* 1010 Unknown command (also empty text, invalid UTF-8) */
	PARSER_ERR_MOBILE,       /* 1003 Invalid mobile number (or subscriber ID not digits) */
	PARSER_ERR_AMOUNT,       /* 1005 Invalid amount (not a number, more than two decimals) */
	PARSER_ERR_PARAM,        /* 1009 Missing or invalid parameter: <param> */
};

#define PARSER_TOKEN_MAX 32
#define PARSER_TEXT_MAX 480   /* CMP text and REG shop name are cut (on a UTF-8 boundary) to fit */
/* Tokens looked at. A longer text is PARSER_ERR_UNKNOWN (verb set), except CMP and REG,
 * whose free text runs on to the end (the last token can still be the PIN), and HELP. */
#define PARSER_TOKENS_MAX 40

struct parser_command {
	enum parser_verb verb;
	enum parser_error error;
	/* Static string naming the field at fault, or NULL (PARSER_OK, PARSER_ERR_UNKNOWN):
	 * PARAM: "mobile", "subscriber_id", "msisdn", "operator", "amount", "circle",
	 * "txn_id", "text", "pin", "plan", "shop_name"; MOBILE: "mobile", "subscriber_id" or
	 * "msisdn"; AMOUNT: "amount". */
	const char *error_param;

	char target[PARSER_TOKEN_MAX];    /* RC: 10-digit mobile (normalized); DTH: subscriber ID as typed; admin: msisdn as typed (msisdn_normalize accepts it) */
	char operator_code[PARSER_TOKEN_MAX]; /* uppercased as typed (alias resolution is the engine's); empty if omitted */
	char circle[3];                   /* uppercased two letters, or empty */
	int64_t amount;                   /* paise, > 0 (0 or less is PARSER_ERR_AMOUNT); RC, DTH, TOPUP */
	char txn_id[PARSER_TOKEN_MAX];    /* ST, CMP: uppercased */
	char text[PARSER_TEXT_MAX];       /* CMP complaint text; REG shop name (words joined by one space) */
	char plan[PARSER_TOKEN_MAX];      /* REG: lowercased */
	char pin[8];                      /* trailing PIN-like token (4-6 digits) or empty */
	char pin_new[8];                  /* PIN command: the new PIN; pin holds the old one, if given */
};

/* Compiles the patterns (JIT where available) and allocates the one match block.
 * 0 or -1 with *cause (static string). A second call does nothing. */
int parser_init(const char **cause);
/* Frees what parser_init made; safe to call twice or without parser_init. */
void parser_free(void);

/* Parses one SMS. Always fills *out (zeroed first; out->verb may be set even when
 * out->error is set, and pin is filled when the PIN slot was found, so the engine can
 * check a PIN and answer with the right context). Returns out->error. Text is len bytes
 * of UTF-8 (no NUL needed); invalid UTF-8 or a NUL byte yields PARSER_ERR_UNKNOWN.
 * parser_init must have succeeded (else fatal). */
enum parser_error parser_parse(const char *text, size_t len, struct parser_command *out);

#endif
