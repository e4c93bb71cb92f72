/* A thread-safe queue of text messages into the signalling loop: other threads (the REST API)
 * post, an eventfd wakes the su_root, and the loop's handler gets each message in order. */
#ifndef TANDEM_MAILBOX_H
#define TANDEM_MAILBOX_H

#include <sofia-sip/su_wait.h>

struct mailbox;

/* Called on the signalling loop for each message; the text is freed after it returns. */
typedef void mailbox_handler_f(void *arg, const char *text);

struct mailbox *mailbox_create(su_root_t *root, mailbox_handler_f *handler, void *arg);
void mailbox_destroy(struct mailbox *mb);

/* From any thread. 0 when queued, -1 when out of memory or the queue is full. */
int mailbox_post(struct mailbox *mb, const char *text);

/* The handler may be set after creation (the loop side is built later than the poster). */
void mailbox_set_handler(struct mailbox *mb, mailbox_handler_f *handler, void *arg);

#endif
