/* What a call's media session was told at answer time beyond the addresses and keys (each leg's
 * transcoding, RFC 4733 translation, the call slots it holds), kept in its Redis record so that
 * a successor rebuilds the session whole after a failover (call_recover.c). */
#ifndef TANDEM_CALL_MEDIA_RECORD_H
#define TANDEM_CALL_MEDIA_RECORD_H

#include <jansson.h>

struct call;

/* Adds the "media" object to record j (keys in docs/schema/redis.md). */
void call_media_record_to_json(const struct call *c, json_t *j);
/* Reads it back into c; a record without it (an older node's) leaves c's fields zero. */
void call_media_record_from_json(struct call *c, json_t *j);

/* A recovered call's new media session (c->media) gets what the record says: each leg's
 * transcoding and payload clocks, and the RFC 4733 translation of a leg whose party has
 * telephone-event while the other has not. */
void call_media_restore(struct call *c);

#endif
