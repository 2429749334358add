/* db/complaint.c: complaints retailers raise on their transactions (CMP). */
#include "db/internal.h"

int64_t
db_complaint_add(struct db *db, int64_t retailer, int64_t txn, const char *text)
{
	static const char sql[] =
	    "INSERT INTO complaints (retailer_id, txn_id, text, created_at) VALUES (?1, ?2, ?3, ?4)";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, retailer);
	sqlite3_bind_int64(st, 2, txn);
	sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, clock_now_ms());
	if (db_exec_stmt(db, st, "complaint insert") != 0)
		return -1;
	return sqlite3_last_insert_rowid(db->sql);
}
