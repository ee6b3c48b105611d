package org.fhirconv.hapi;

import ca.uhn.fhir.jpa.config.r5.JpaR5Config;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

/** HAPI's JPA wiring for FHIR R5 (5.0.0). */
@Configuration
@ConditionalOnProperty(name = "hapi.fhir-version", havingValue = "R5")
@Import({JpaR5Config.class, ServerConfig.class})
public class R5Config {}
