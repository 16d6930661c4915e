// Prints the ApiVersions a broker of the kafka-clients release on the classpath advertises.
//
// Run by tools/kafka_versions.py as a single-file program (java ApiVersionsDump.java LISTENER)
// with one release's kafka-clients jar on the class path. It calls the release's own code that
// brokers answer ApiVersions with (reflection, because the method moved between releases):
//
//   3.x-4.x   ApiVersionsResponse.brokerApiVersions([RecordVersion,] ListenerType, false, false)
//   2.8-3.x   ApiVersionsResponse.filterApis / defaultApiVersionsResponse(ListenerType)
//   2.0-2.7   ApiVersionsResponse.defaultApiVersionsResponse()
//
// Unstable latest versions and client telemetry are off, as in a default broker. Output: one
// line per API, "key min max name" (supported features are not printed: brokers take those
// from server jars, not from kafka-clients).

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;

public class ApiVersionsDump {
    private static final String[] METHODS = {
        "brokerApiVersions", "filterApis", "defaultApiVersionsResponse", "createApiVersionsResponse",
    };

    public static void main(String[] args) throws Exception {
        String listener = args.length > 0 ? args[0] : "BROKER";
        Class<?> response = Class.forName("org.apache.kafka.common.requests.ApiVersionsResponse");
        Object result = null;
        String used = null;
        search:
        for (String name : METHODS) {
            for (Method m : response.getMethods()) {
                if (!m.getName().equals(name) || !Modifier.isStatic(m.getModifiers())) {
                    continue;
                }
                Object[] values = arguments(m.getParameterTypes(), listener);
                if (values == null) {
                    continue;
                }
                result = m.invoke(null, values);
                used = m.toString();
                break search;
            }
        }
        if (result == null) {
            throw new IllegalStateException("no known ApiVersionsResponse factory in this release");
        }
        System.out.println("# " + used);
        Iterable<?> versions = apiVersions(result);
        for (Object v : versions) {
            int key = number(v, "apiKey");
            int min = number(v, "minVersion");
            int max = number(v, "maxVersion");
            System.out.println(key + " " + min + " " + max + " " + apiName(key));
        }
    }

    private static Object[] arguments(Class<?>[] types, String listener) throws Exception {
        Object[] values = new Object[types.length];
        for (int i = 0; i < types.length; i++) {
            Class<?> t = types[i];
            if (t == boolean.class) {
                values[i] = false; // no unstable versions, no client telemetry
            } else if (t == int.class) {
                values[i] = 0; // throttle time
            } else if (t == byte.class) {
                values[i] = (byte) 2; // record batch magic v2
            } else if (t.getSimpleName().equals("RecordVersion")) {
                values[i] = t.getMethod("current").invoke(null);
            } else if (t.getSimpleName().equals("ListenerType")) {
                values[i] = t.getMethod("valueOf", String.class).invoke(null, listener);
            } else {
                return null;
            }
        }
        return values;
    }

    private static Iterable<?> apiVersions(Object result) throws Exception {
        if (result instanceof Iterable) {
            return (Iterable<?>) result;
        }
        Object data;
        try {
            data = result.getClass().getMethod("data").invoke(result);
        } catch (NoSuchMethodException e) {
            try {
                data = result.getClass().getField("data").get(result); // 2.4-2.7
            } catch (NoSuchFieldException e2) {
                return (Iterable<?>) result.getClass().getMethod("apiVersions").invoke(result);
            }
        }
        return (Iterable<?>) data.getClass().getMethod("apiKeys").invoke(data);
    }

    private static int number(Object o, String name) throws Exception {
        try {
            return ((Number) o.getClass().getMethod(name).invoke(o)).intValue();
        } catch (NoSuchMethodException e) {
            Field f = o.getClass().getField(name);
            return ((Number) f.get(o)).intValue();
        }
    }

    private static String apiName(int key) throws Exception {
        Class<?> keys = Class.forName("org.apache.kafka.common.protocol.ApiKeys");
        Object api = keys.getMethod("forId", int.class).invoke(null, key);
        return (String) api.getClass().getField("name").get(api);
    }
}
