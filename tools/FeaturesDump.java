// Prints the feature ranges (KIP-584) a KRaft broker of the release on the classpath supports.
//
// Run by tools/kafka_versions.py (java FeaturesDump.java) with one release's kafka-server-common
// and kafka-clients jars on the class path, for releases 3.3 and later. It mirrors what Kafka's
// BrokerFeatures.defaultSupportedFeatures reports with unstable feature versions disabled:
//
//   metadata.version  [MetadataVersion.MINIMUM_(KRAFT_)VERSION, MetadataVersion.latestProduction]
//   each production feature (3.9: Features, 4.x: Feature.PRODUCTION_FEATURES) with a latest production level
//   above 0: [minimumProduction, latestProduction]
//
// Output: one line per feature, "name min max".

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

public class FeaturesDump {
    public static void main(String[] args) throws Exception {
        Class<?> mv = Class.forName("org.apache.kafka.server.common.MetadataVersion");
        Object min = staticField(mv, "MINIMUM_VERSION", "MINIMUM_KRAFT_VERSION");
        Object latest;
        try {
            latest = mv.getMethod("latestProduction").invoke(null);
        } catch (NoSuchMethodException e) {
            try {
                latest = staticField(mv, "LATEST_PRODUCTION");
            } catch (NoSuchFieldException e2) {
                latest = mv.getMethod("latest").invoke(null); // 3.3-3.4: every level is production
            }
        }
        System.out.println("metadata.version " + level(min) + " " + level(latest));
        Class<?> features = null;
        for (String name : new String[] {"Feature", "Features"}) { // 4.x, 3.9
            try {
                Class<?> c = Class.forName("org.apache.kafka.server.common." + name);
                if (c.isEnum()) { // 3.5-3.8 have an unrelated Features class
                    features = c;
                    break;
                }
            } catch (ClassNotFoundException e) {
                // try the older name
            }
        }
        if (features == null) {
            return; // before 3.9: metadata.version only
        }
        List<Object> production = new ArrayList<>();
        try {
            production.addAll((List<?>) features.getField("PRODUCTION_FEATURES").get(null));
        } catch (NoSuchFieldException e) {
            production.addAll(Arrays.asList(features.getEnumConstants()));
        }
        for (Object f : production) {
            String name = (String) call(f, "featureName");
            int max = ((Number) call(f, "latestProduction")).intValue();
            int lo = 0;
            try {
                lo = ((Number) call(f, "minimumProduction")).intValue();
            } catch (NoSuchMethodException e) {
                // 3.9: no minimum production level; 0 ("off") is supported
            }
            if (max > 0) {
                System.out.println(name + " " + lo + " " + max);
            }
        }
    }

    private static Object staticField(Class<?> c, String... names) throws Exception {
        for (String name : names) {
            try {
                return c.getField(name).get(null);
            } catch (NoSuchFieldException e) {
                // try the next name
            }
        }
        throw new NoSuchFieldException(String.join("/", names));
    }

    private static Object call(Object o, String name) throws Exception {
        Method m = o.getClass().getMethod(name);
        return m.invoke(o);
    }

    private static int level(Object metadataVersion) throws Exception {
        return ((Number) call(metadataVersion, "featureLevel")).intValue();
    }
}
