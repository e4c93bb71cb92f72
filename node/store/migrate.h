/* Schema migrations: applies schema/NNN_name.sql files not yet recorded in tandem_migrations.
 * Used by `tandemctl db migrate`; never by tandemd, which expects a migrated database. */
#ifndef TANDEM_MIGRATE_H
#define TANDEM_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

/* Applies pending migrations in numeric order, each in its own transaction together with its
 * record, under an advisory lock so concurrent migrators queue. Prints one line per applied
 * file to out, or "schema up to date". Returns 0, or -1 with the reason in err. */
int store_migrate(const char *conninfo, const char *schema_dir, FILE *out, char *err,
                  size_t errlen);

#endif
