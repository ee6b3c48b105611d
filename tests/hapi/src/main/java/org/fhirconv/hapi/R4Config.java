package org.fhirconv.hapi;

import ca.uhn.fhir.jpa.config.r4.JpaR4Config;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

/** HAPI's JPA wiring for FHIR R4 (4.0.1). */
@Configuration
@ConditionalOnProperty(name = "hapi.fhir-version", havingValue = "R4")
@Import({JpaR4Config.class, ServerConfig.class})
public class R4Config {}
