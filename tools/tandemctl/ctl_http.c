/* tandemctl's HTTP client: libcurl with connect and total timeouts, JSON in and out,
 * "Authorization: Bearer <key>". */
#include "ctl.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_CONNECT_TIMEOUT 5L
#define CTL_TOTAL_TIMEOUT 30L
#define CTL_MAX_REPLY (16 * 1024 * 1024)

struct buffer {
    char *data;
    size_t len;
    int overflow;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct buffer *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n > CTL_MAX_REPLY) {
        b->overflow = 1;
        return 0;
    }
    char *grown = realloc(b->data, b->len + n + 1);
    if (!grown)
        return 0;
    b->data = grown;
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

long ctl_http(const struct ctl_opts *o, const char *method, const char *path, json_t *body,
              json_t **reply, char *err, size_t errlen)
{
    *reply = NULL;
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(err, errlen, "cannot initialise libcurl");
        return -1;
    }
    char url[1024], auth[300];
    snprintf(url, sizeof url, "%s%s", o->api, path);
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    if (o->key[0]) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", o->key);
        headers = curl_slist_append(headers, auth);
    }
    char *text = NULL;
    if (body) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        text = json_dumps(body, JSON_COMPACT);
    }
    struct buffer b = {0};
    long status = -1;
    if (!headers || (body && !text)) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, CTL_CONNECT_TIMEOUT);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, CTL_TOTAL_TIMEOUT);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    if (text)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", url,
                 b.overflow ? "reply too large" : curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (b.len) {
        json_error_t jerr;
        *reply = json_loadb(b.data, b.len, 0, &jerr);
        if (!*reply) {
            snprintf(err, errlen, "%s: HTTP %ld with a reply that is not JSON", url, status);
            status = -1;
        }
    }
out:
    free(b.data);
    free(text);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return status;
}

int ctl_call(const struct ctl_opts *o, const char *method, const char *path, json_t *body,
             json_t **reply)
{
    char err[1200];
    long status = ctl_http(o, method, path, body, reply, err, sizeof err);
    if (status < 0) {
        fprintf(stderr, "tandemctl: %s\n", err);
        return CTL_ERROR;
    }
    if (status >= 200 && status < 300)
        return CTL_OK;
    const char *msg = json_string_value(json_object_get(*reply, "error"));
    const char *field = json_string_value(json_object_get(*reply, "field"));
    fprintf(stderr, "tandemctl: HTTP %ld: %s", status, msg ? msg : "error");
    if (field)
        fprintf(stderr, " (field: %s)", field);
    fputc('\n', stderr);
    json_decref(*reply);
    *reply = NULL;
    return CTL_ERROR;
}
