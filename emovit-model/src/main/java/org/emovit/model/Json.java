package org.emovit.model;

import com.fasterxml.jackson.databind.JsonNode;

final class Json {
    private Json() {}

    static int intOr(JsonNode n, String field, int fallback) {
        JsonNode v = n.path(field);
        return v.isNumber() ? v.asInt() : fallback;
    }

    static double doubleOr(JsonNode n, String field, double fallback) {
        JsonNode v = n.path(field);
        return v.isNumber() ? v.asDouble() : fallback;
    }
}
