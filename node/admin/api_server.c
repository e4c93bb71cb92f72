/* The API's HTTP side: a libmicrohttpd daemon with a pool of 2 threads, request bodies
 * collected up to api.max_body, then route -> authenticate -> parse JSON -> handler -> reply.
 * Each pool thread lazily opens its own PostgreSQL and Redis connections (a pthread key whose
 * destructor closes them when MHD stops the thread), so no connection is ever shared. */
#include "admin/api_server.h"

#include "admin/api_internal.h"
#include "common/config.h"
#include "common/log.h"
#include "store/reg_query.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_THREADS 2u
#define API_CONNECTION_TIMEOUT 10u /* seconds of inactivity before MHD drops a client */

struct api_server {
    struct MHD_Daemon *daemon;
    struct mailbox *orders;
    const struct membership *cluster;
    const struct tandem_config *cfg;
    struct node_status *status;
    pthread_key_t thread_key;
    atomic_int started;
    char start_error[256]; /* last MHD message while starting, for the caller's err */
};

struct api_thread {
    struct admin_db *db;
    struct reg_query *rq;
};

struct api_request {
    char *body;
    size_t len, cap;
    int too_large;
};

static void thread_free(void *p)
{
    struct api_thread *t = p;
    admin_db_close(t->db);
    reg_query_free(t->rq);
    free(t);
}

static struct api_thread *thread_ctx(struct api_server *s)
{
    struct api_thread *t = pthread_getspecific(s->thread_key);
    if (t)
        return t;
    t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->db = admin_db_open(s->cfg->postgres_conninfo);
    t->rq = reg_query_new(s->cfg);
    if (!t->db || !t->rq || pthread_setspecific(s->thread_key, t) != 0) {
        thread_free(t);
        return NULL;
    }
    return t;
}

static enum api_method method_of(const char *m)
{
    return !strcmp(m, "GET")      ? API_GET
           : !strcmp(m, "POST")   ? API_POST
           : !strcmp(m, "PATCH")  ? API_PATCH
           : !strcmp(m, "DELETE") ? API_DELETE
                                  : API_OTHER;
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct api_reply *r)
{
    char *text = NULL;
    if (r->status < 100) /* a handler that set no reply is a bug; answer rather than hang */
        api_reply_error(r, 500, "internal error", NULL);
    if (r->body && !(text = json_dumps(r->body, JSON_COMPACT))) {
        r->status = 500;
    }
    struct MHD_Response *resp =
        text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    if (text)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (r->allow[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned int)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Parses the body of a POST/PATCH into c->body; -1 with a 400 reply. */
static int parse_body(struct api_call *c, const struct api_request *req, struct api_reply *r)
{
    json_error_t jerr;
    if (req->len == 0) {
        api_reply_error(r, 400, "a JSON object body is required", NULL);
        return -1;
    }
    c->body = json_loadb(req->body, req->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!c->body) {
        char msg[256];
        snprintf(msg, sizeof msg, "invalid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                 jerr.column);
        api_reply_error(r, 400, msg, NULL);
        return -1;
    }
    if (!json_is_object(c->body)) {
        api_reply_error(r, 400, "the body must be a JSON object", NULL);
        return -1;
    }
    return 0;
}

static void handle(struct api_server *s, struct MHD_Connection *conn, const char *url,
                   const char *method, struct api_request *req, struct api_reply *r)
{
    struct api_call c = {.cfg = s->cfg,
                         .status = s->status,
                         .method = method_of(method),
                         .conn = conn,
                         .orders = s->orders,
                         .cluster = s->cluster};
    api_handler handler;
    int needs_auth;
    if (api_route(url, &c, &handler, &needs_auth, r) != 0)
        return;
    if (req->too_large) {
        char msg[96];
        snprintf(msg, sizeof msg, "request body larger than %d bytes", s->cfg->api_max_body);
        api_reply_error(r, 413, msg, NULL);
        return;
    }
    struct api_thread *t = thread_ctx(s);
    if (!t) {
        api_reply_error(r, 500, "internal error", NULL);
        return;
    }
    c.db = t->db;
    c.rq = t->rq;
    if (needs_auth &&
        api_authenticate(
            &c, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
            r) != 0)
        return;
    if ((c.method == API_POST || c.method == API_PATCH) && parse_body(&c, req, r) != 0) {
        json_decref(c.body);
        return;
    }
    handler(&c, r);
    json_decref(c.body);
}

const char *api_query(const struct api_call *c, const char *name)
{
    return c->conn ? MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name) : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct api_server *s = cls;
    struct api_request *req = *con_cls;
    size_t max = (size_t)s->cfg->api_max_body;
    if (!req) {
        if (!(req = calloc(1, sizeof *req)))
            return MHD_NO;
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > max)
            req->too_large = 1;
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* An oversized body is read and dropped rather than answered early, so the client
         * always gets to read its 413; the connection timeout bounds how long that takes. */
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->too_large)
            return MHD_YES;
        if (req->len + n > max) {
            req->too_large = 1;
            free(req->body);
            req->body = NULL;
            req->len = req->cap = 0;
            return MHD_YES;
        }
        if (req->len + n > req->cap) {
            size_t cap = req->cap ? req->cap * 2 : 1024;
            while (cap < req->len + n)
                cap *= 2;
            char *grown = realloc(req->body, cap);
            if (!grown)
                return MHD_NO;
            req->body = grown;
            req->cap = cap;
        }
        memcpy(req->body + req->len, upload_data, n);
        req->len += n;
        return MHD_YES;
    }
    struct api_reply r = {0};
    handle(s, conn, url, method, req, &r);
    if (r.status >= 500)
        log_warn(NULL, "api: %s %s -> %d", method, url, r.status);
    else
        log_debug(NULL, "api: %s %s -> %d", method, url, r.status);
    enum MHD_Result ret = send_reply(conn, &r);
    json_decref(r.body);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls, (void)conn, (void)code;
    struct api_request *req = *con_cls;
    if (req) {
        free(req->body);
        free(req);
        *con_cls = NULL;
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct api_server *s = cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t l = strlen(msg);
    while (l && msg[l - 1] == '\n')
        msg[--l] = '\0';
    if (!atomic_load(&s->started))
        snprintf(s->start_error, sizeof s->start_error, "%s", msg);
    log_warn(NULL, "api: %s", msg);
}

struct api_server *api_server_start(const struct tandem_config *cfg, struct node_status *status,
                                    struct mailbox *orders, const struct membership *cluster,
                                    char *err, size_t errlen)
{
    if (cfg->api_port <= 0) {
        snprintf(err, errlen, "api.port: the REST API is disabled (0)");
        return NULL;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", cfg->api_port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *ai = NULL;
    int gai = getaddrinfo(cfg->api_address[0] ? cfg->api_address : NULL, port, &hints, &ai);
    if (gai != 0) {
        snprintf(err, errlen, "api.address: %s: %s", cfg->api_address, gai_strerror(gai));
        return NULL;
    }
    struct api_server *s = calloc(1, sizeof *s);
    if (!s) {
        freeaddrinfo(ai);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = cfg;
    s->status = status;
    s->orders = orders;
    s->cluster = cluster;
    if (pthread_key_create(&s->thread_key, thread_free) != 0) {
        freeaddrinfo(ai);
        free(s);
        snprintf(err, errlen, "cannot create thread key");
        return NULL;
    }
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(flags, (uint16_t)cfg->api_port, NULL, NULL, on_request, s,
                                 /* first: options before it would log through stderr */
                                 MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s, MHD_OPTION_SOCK_ADDR,
                                 ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE, API_THREADS,
                                 MHD_OPTION_CONNECTION_TIMEOUT, API_CONNECTION_TIMEOUT,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->daemon) {
        snprintf(err, errlen, "api: cannot listen on %s:%d: %s", cfg->api_address, cfg->api_port,
                 s->start_error[0] ? s->start_error : "failed to start");
        pthread_key_delete(s->thread_key);
        free(s);
        return NULL;
    }
    atomic_store(&s->started, 1);
    log_info(NULL, "api: listening on %s:%d", cfg->api_address, cfg->api_port);
    return s;
}

void api_server_stop(struct api_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon); /* joins the pool threads, whose key destructor closes stores */
    pthread_key_delete(s->thread_key);
    free(s);
}
