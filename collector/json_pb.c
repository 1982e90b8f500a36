/* collector/json_pb.c - fills a protobuf-c message from the JSON that query/
 * writes for the same answer (Tempo's JSON is protobuf's JSON mapping of its
 * messages), by the message's descriptor: JSON names are the proto field names
 * or their lowerCamelCase form, 64-bit integers may be strings, enums are
 * names, a JSON object for a repeated message field is a map. Keys without a
 * field are skipped. Everything is allocated from one arena, so the caller
 * packs the message and frees the arena. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <protobuf-c/protobuf-c.h>

#include "collector/collector.h"

/* 1 when JSON key |k| names field |name| (as is, or lowerCamelCase). */
static int name_match(const char *name, const char *k)
{
    if (strcmp(name, k) == 0)
        return 1;
    for (; *name && *k; name++, k++) {
        if (*name == '_' && name[1]) {
            name++;
            if ((*name >= 'a' && *name <= 'z' ? *name - 'a' + 'A' : *name) != *k)
                return 0;
        } else if (*name != *k) {
            return 0;
        }
    }
    return *name == '\0' && *k == '\0';
}

static int fill(ottr_arena *a, const ProtobufCMessageDescriptor *d, void *msg, json_object *o);

static uint64_t j_u64(json_object *v)
{
    if (json_object_is_type(v, json_type_string))
        return strtoull(json_object_get_string(v), NULL, 10);
    return (uint64_t)json_object_get_uint64(v);
}

static int64_t j_i64(json_object *v)
{
    if (json_object_is_type(v, json_type_string))
        return strtoll(json_object_get_string(v), NULL, 10);
    return json_object_get_int64(v);
}

static double j_f64(json_object *v)
{
    if (json_object_is_type(v, json_type_string))
        return strtod(json_object_get_string(v), NULL);
    return json_object_get_double(v);
}

/* Sets one value of field |f| at |p| (a scalar slot or a message pointer slot)
 * from |v|. Returns 0, 1 to skip the value, -1 when out of memory. */
static int set_value(ottr_arena *a, const ProtobufCFieldDescriptor *f, void *p, json_object *v)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = json_object_get_string(v);
        char *c = ottr_arena_strndup(a, s ? s : "", s ? strlen(s) : 0);
        if (c == NULL)
            return -1;
        *(char **)p = c;
        return 0;
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        *(uint32_t *)p = (uint32_t)j_u64(v);
        return 0;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        *(int32_t *)p = (int32_t)j_i64(v);
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        *(uint64_t *)p = j_u64(v);
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        *(int64_t *)p = j_i64(v);
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        *(double *)p = j_f64(v);
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
        *(float *)p = (float)j_f64(v);
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        *(protobuf_c_boolean *)p = json_object_get_boolean(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *e = f->descriptor;
        if (json_object_is_type(v, json_type_string)) {
            const ProtobufCEnumValue *ev =
                protobuf_c_enum_descriptor_get_value_by_name(e, json_object_get_string(v));
            if (ev == NULL)
                return 1;
            *(int *)p = ev->value;
        } else {
            *(int *)p = json_object_get_int(v);
        }
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *md = f->descriptor;
        if (!json_object_is_type(v, json_type_object))
            return 1;
        void *m = ottr_arena_alloc(a, md->sizeof_message);
        if (m == NULL)
            return -1;
        protobuf_c_message_init(md, m);
        if (fill(a, md, m, v) != 0)
            return -1;
        *(void **)p = m;
        return 0;
    }
    default: /* bytes: not in the answers converted */
        return 1;
    }
}

static size_t slot_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    default:
        return 4;
    }
}

/* A map entry message (key = field 1, value = field 2) from one JSON member. */
static void *map_entry(ottr_arena *a, const ProtobufCFieldDescriptor *f, const char *key,
                       json_object *val)
{
    const ProtobufCMessageDescriptor *md = f->descriptor;
    void *m = ottr_arena_alloc(a, md->sizeof_message);
    if (m == NULL || md->n_fields != 2)
        return NULL;
    protobuf_c_message_init(md, m);
    json_object *k = json_object_new_string(key);
    if (k == NULL)
        return NULL;
    int r = set_value(a, &md->fields[0], (char *)m + md->fields[0].offset, k);
    json_object_put(k);
    if (r < 0 || set_value(a, &md->fields[1], (char *)m + md->fields[1].offset, val) < 0)
        return NULL;
    return m;
}

static int fill_repeated(ottr_arena *a, const ProtobufCFieldDescriptor *f, void *msg,
                         json_object *v)
{
    size_t *n = (size_t *)((char *)msg + f->quantifier_offset);
    void **arr = (void **)((char *)msg + f->offset);
    size_t sz = slot_size(f);
    if (json_object_is_type(v, json_type_object) && f->type == PROTOBUF_C_TYPE_MESSAGE) {
        size_t cnt = (size_t)json_object_object_length(v), i = 0;
        char *slots = ottr_arena_alloc(a, (cnt ? cnt : 1) * sz);
        if (slots == NULL)
            return -1;
        json_object_object_foreach(v, key, val)
        {
            void *e = map_entry(a, f, key, val);
            if (e == NULL)
                return -1;
            ((void **)slots)[i++] = e;
        }
        *arr = slots;
        *n = i;
        return 0;
    }
    if (!json_object_is_type(v, json_type_array))
        return 0;
    size_t cnt = json_object_array_length(v), k = 0;
    char *slots = ottr_arena_alloc(a, (cnt ? cnt : 1) * sz);
    if (slots == NULL)
        return -1;
    memset(slots, 0, (cnt ? cnt : 1) * sz);
    for (size_t i = 0; i < cnt; i++) {
        int r = set_value(a, f, slots + k * sz, json_object_array_get_idx(v, i));
        if (r < 0)
            return -1;
        if (r == 0)
            k++;
    }
    *arr = slots;
    *n = k;
    return 0;
}

static int fill(ottr_arena *a, const ProtobufCMessageDescriptor *d, void *msg, json_object *o)
{
    json_object_object_foreach(o, key, val)
    {
        const ProtobufCFieldDescriptor *f = NULL;
        for (unsigned i = 0; i < d->n_fields && f == NULL; i++)
            if (name_match(d->fields[i].name, key))
                f = &d->fields[i];
        if (f == NULL || val == NULL)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (fill_repeated(a, f, msg, val) != 0)
                return -1;
            continue;
        }
        int r = set_value(a, f, (char *)msg + f->offset, val);
        if (r < 0)
            return -1;
        if (r > 0)
            continue;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            *(uint32_t *)((char *)msg + f->quantifier_offset) = f->id;
        else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset)
            *(protobuf_c_boolean *)((char *)msg + f->quantifier_offset) = 1;
    }
    return 0;
}

void *collector_json_to_pb(ottr_arena *a, const ProtobufCMessageDescriptor *d, const char *json,
                           size_t len)
{
    json_tokener *tok = json_tokener_new_ex(64);
    if (tok == NULL)
        return NULL;
    json_object *o = json_tokener_parse_ex(tok, json, (int)len);
    json_tokener_free(tok);
    if (o == NULL || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return NULL;
    }
    void *m = ottr_arena_alloc(a, d->sizeof_message);
    if (m != NULL) {
        protobuf_c_message_init(d, m);
        if (fill(a, d, m, o) != 0)
            m = NULL;
    }
    json_object_put(o);
    return m;
}
