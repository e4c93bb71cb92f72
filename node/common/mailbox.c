/* The queue is a mutex-protected linked list, bounded so a flood of API requests cannot eat
 * memory; the eventfd counts posts and is drained in one read, then the whole list is taken. */
#include "common/mailbox.h"

#include "common/log.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MAILBOX_MAX 1000

struct letter {
    struct letter *next;
    char text[];
};

struct mailbox {
    su_root_t *root;
    int fd, wait_index;
    pthread_mutex_t lock;
    struct letter *head, *tail;
    int count;
    mailbox_handler_f *handler;
    void *arg;
};

static int wakeup(su_root_magic_t *m, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void)m;
    (void)w;
    struct mailbox *mb = (struct mailbox *)arg;
    uint64_t n;
    if (read(mb->fd, &n, sizeof n) < 0) { /* EAGAIN: another wake-up took it */
    }
    pthread_mutex_lock(&mb->lock);
    struct letter *l = mb->head;
    mb->head = mb->tail = NULL;
    mb->count = 0;
    pthread_mutex_unlock(&mb->lock);
    while (l) {
        struct letter *next = l->next;
        if (mb->handler)
            mb->handler(mb->arg, l->text);
        free(l);
        l = next;
    }
    return 0;
}

struct mailbox *mailbox_create(su_root_t *root, mailbox_handler_f *handler, void *arg)
{
    struct mailbox *mb = calloc(1, sizeof *mb);
    if (!mb)
        return NULL;
    mb->root = root;
    mb->handler = handler;
    mb->arg = arg;
    mb->wait_index = -1;
    pthread_mutex_init(&mb->lock, NULL);
    mb->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    su_wait_t w;
    if (mb->fd < 0 || su_wait_create(&w, mb->fd, SU_WAIT_IN) != 0 ||
        (mb->wait_index = su_root_register(root, &w, wakeup, (su_wakeup_arg_t *)mb, 0)) < 0) {
        mailbox_destroy(mb);
        return NULL;
    }
    return mb;
}

void mailbox_set_handler(struct mailbox *mb, mailbox_handler_f *handler, void *arg)
{
    pthread_mutex_lock(&mb->lock);
    mb->handler = handler;
    mb->arg = arg;
    pthread_mutex_unlock(&mb->lock);
}

void mailbox_destroy(struct mailbox *mb)
{
    if (!mb)
        return;
    if (mb->wait_index >= 0)
        su_root_deregister(mb->root, mb->wait_index);
    if (mb->fd >= 0)
        close(mb->fd);
    while (mb->head) {
        struct letter *l = mb->head;
        mb->head = l->next;
        free(l);
    }
    pthread_mutex_destroy(&mb->lock);
    free(mb);
}

int mailbox_post(struct mailbox *mb, const char *text)
{
    size_t len = strlen(text);
    struct letter *l = malloc(sizeof *l + len + 1);
    if (!l)
        return -1;
    memcpy(l->text, text, len + 1);
    l->next = NULL;
    pthread_mutex_lock(&mb->lock);
    if (mb->count >= MAILBOX_MAX) {
        pthread_mutex_unlock(&mb->lock);
        free(l);
        return -1;
    }
    if (mb->tail)
        mb->tail->next = l;
    else
        mb->head = l;
    mb->tail = l;
    mb->count++;
    pthread_mutex_unlock(&mb->lock);
    uint64_t one = 1;
    if (write(mb->fd, &one, sizeof one) < 0)
        log_warn(NULL, "mailbox: cannot wake the signalling loop");
    return 0;
}
