package org.fhirconv.hapi;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.autoconfigure.context.PropertyPlaceholderAutoConfiguration;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.autoconfigure.web.servlet.ServletWebServerFactoryAutoConfiguration;
import org.springframework.context.annotation.Import;

/**
 * A HAPI FHIR JPA server (R4 or R5, H2) for fhirconv's tests: `hapi.fhir-version` picks {@link R4Config} or
 * {@link R5Config}; {@link ServerConfig} holds the wiring both share.
 *
 * <p>Only the auto-configuration the server needs (Tomcat, the H2 connection pool, properties) is imported:
 * Boot's full set would also start Flyway, Thymeleaf and an Elasticsearch client found on HAPI's class
 * path, for nothing but a slower start.
 */
@SpringBootConfiguration
@ImportAutoConfiguration({
	PropertyPlaceholderAutoConfiguration.class,
	ServletWebServerFactoryAutoConfiguration.class,
	DataSourceAutoConfiguration.class
})
@Import({R4Config.class, R5Config.class})
public class Application {
	public static void main(String[] args) {
		SpringApplication.run(Application.class, args);
	}
}
