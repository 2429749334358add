/* tests/fuzz/fuzz_parser.c: libFuzzer over the SMS command grammar (parser/parser.c).
 * The input is an SMS text of arbitrary bytes; parser_parse must always fill a
 * struct parser_command whose strings are NUL-terminated inside their arrays, whose
 * error and verb are in range, and whose amount is positive when it parsed.
 * Built with clang -fsanitize=fuzzer,address,undefined (mk/fuzz.mk). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "parser/parser.h"

#define FIELD_OK(f) do { if (memchr((f), '\0', sizeof (f)) == NULL) abort(); } while (0)

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *cause = NULL;

	log_level = -1;
	if (parser_init(&cause) != 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parser_command out;
	enum parser_error r;
	/* a heap copy of exactly the input, no NUL: ASan sees any read past it */
	char *copy = malloc(size > 0 ? size : 1);

	if (size > 0)
		memcpy(copy, data, size);
	memset(&out, 0xA5, sizeof out);	/* parser_parse must zero or fill every field */
	r = parser_parse(copy, size, &out);
	free(copy);
	if (r != out.error || (int)r < PARSER_OK || r > PARSER_ERR_PARAM)
		abort();
	if ((int)out.verb < PARSER_NONE || out.verb > PARSER_UNBLOCK)
		abort();
	FIELD_OK(out.target);
	FIELD_OK(out.operator_code);
	FIELD_OK(out.circle);
	FIELD_OK(out.txn_id);
	FIELD_OK(out.text);
	FIELD_OK(out.plan);
	FIELD_OK(out.pin);
	FIELD_OK(out.pin_new);
	if (out.error_param != NULL && strlen(out.error_param) > 32)
		abort();
	if ((r == PARSER_ERR_PARAM || r == PARSER_ERR_MOBILE || r == PARSER_ERR_AMOUNT) &&
	    out.error_param == NULL)
		abort();
	if (r == PARSER_OK) {
		if (out.verb == PARSER_NONE)
			abort();
		if ((out.verb == PARSER_RC || out.verb == PARSER_DTH || out.verb == PARSER_TOPUP) &&
		    (out.amount <= 0 || out.amount > MONEY_MAX_PAISE))
			abort();
		if (out.verb == PARSER_RC) {
			char local[MOBILE_BUFSZ];
			if (mobile_normalize(out.target, local) != 0 || strcmp(local, out.target) != 0)
				abort();
		}
	}
	return 0;
}
