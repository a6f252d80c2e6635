package dev.smolnb;

import java.nio.file.Path;
import java.time.Duration;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

/**
 * Embedded Neo4j 5.26 serving Bolt on 127.0.0.1:PORT until its stdin closes or it is terminated.
 * Arguments: HOME PORT. With SMOLNB_NEO4J_PASSWORD in the environment (not on the command line,
 * where other users could read it), authentication is on and the user neo4j has that password.
 * Started by `smolnb services neo4j` and by the test suite (smolnb/services.py).
 */
public final class Neo4jServer {
    public static void main(String[] args) throws Exception {
        Path home = Path.of(args[0]);
        int port = Integer.parseInt(args[1]);
        String password = System.getenv("SMOLNB_NEO4J_PASSWORD");
        if (password != null && password.isEmpty()) password = null;
        DatabaseManagementService service = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .setConfig(GraphDatabaseSettings.auth_enabled, password != null)
                .setConfig(GraphDatabaseSettings.transaction_timeout, Duration.ofSeconds(60))
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(service::shutdown));
        service.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        if (password != null) {
            service.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", java.util.Map.of("password", password));
        }
        System.out.println("READY " + port);
        System.out.flush();
        while (System.in.read() != -1) {
            // whoever started us holds our stdin; when it goes away, so do we
        }
        service.shutdown();
    }
}
