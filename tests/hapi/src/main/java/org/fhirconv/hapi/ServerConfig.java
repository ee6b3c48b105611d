package org.fhirconv.hapi;

import ca.uhn.fhir.batch2.jobs.config.Batch2JobsConfig;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.config.ThreadPoolFactoryConfig;
import ca.uhn.fhir.jpa.batch2.JpaBatch2Config;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.config.HapiJpaConfig;
import ca.uhn.fhir.jpa.config.util.HapiEntityManagerFactoryUtil;
import ca.uhn.fhir.jpa.model.config.PartitionSettings;
import ca.uhn.fhir.jpa.model.config.SubscriptionSettings;
import ca.uhn.fhir.jpa.provider.IJpaSystemProvider;
import ca.uhn.fhir.jpa.provider.JpaCapabilityStatementProvider;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.jpa.subscription.channel.config.SubscriptionChannelConfig;
import ca.uhn.fhir.narrative2.NullNarrativeGenerator;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.interceptor.RequestValidatingInterceptor;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import ca.uhn.fhir.rest.server.util.ISearchParamRegistry;
import ca.uhn.fhir.validation.IValidatorModule;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import jakarta.persistence.EntityManagerFactory;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;

/**
 * What both versions share: storage settings chosen so that tests mean something, Hibernate on H2, and the
 * REST server at /fhir with HAPI's own request validation.
 */
@Configuration
@Import({HapiJpaConfig.class, JpaBatch2Config.class, Batch2JobsConfig.class, SubscriptionChannelConfig.class, ThreadPoolFactoryConfig.class})
public class ServerConfig {

	@Bean
	public JpaStorageSettings storageSettings() {
		JpaStorageSettings settings = new JpaStorageSettings();
		// A search answers from the database, never from an earlier search's cached result: a test that
		// counts resources right after writing them must see them.
		settings.setReuseCachedSearchResultsForMillis(null);
		// A reference to something that does not exist is refused, as on a production HAPI.
		settings.setEnforceReferentialIntegrityOnWrite(true);
		settings.setAutoCreatePlaceholderReferenceTargets(false);
		settings.setAllowExternalReferences(false);
		// Client-assigned ids that are not purely numeric (fhirconv's fc-<uuid> ids), as HAPI's default.
		settings.setResourceClientIdStrategy(JpaStorageSettings.ClientIdStrategyEnum.ALPHANUMERIC);
		// No background work a short-lived test server does not need (value-set pre-expansion, reindexing).
		settings.setEnableTaskPreExpandValueSets(false);
		settings.setMarkResourcesForReindexingUponSearchParameterChange(false);
		settings.setSchedulingDisabled(true);
		return settings;
	}

	@Bean
	public PartitionSettings partitionSettings() {
		return new PartitionSettings();
	}

	@Bean
	public SubscriptionSettings subscriptionSettings() {
		return new SubscriptionSettings();
	}

	@Primary
	@Bean
	public LocalContainerEntityManagerFactoryBean entityManagerFactory(
			ConfigurableListableBeanFactory beanFactory,
			FhirContext fhirContext,
			JpaStorageSettings storageSettings,
			DataSource dataSource) {
		LocalContainerEntityManagerFactoryBean factory =
				HapiEntityManagerFactoryUtil.newEntityManagerFactory(beanFactory, fhirContext, storageSettings);
		Map<String, Object> jpa = new HashMap<>();
		jpa.put("hibernate.dialect", "ca.uhn.fhir.jpa.model.dialect.HapiFhirH2Dialect");
		jpa.put("hibernate.hbm2ddl.auto", "update");
		jpa.put("hibernate.archive.scanner", "org.hibernate.boot.archive.scan.internal.DisabledScanner");
		jpa.put("hibernate.jdbc.batch_size", "20");
		jpa.put("hibernate.cache.use_query_cache", "false");
		jpa.put("hibernate.cache.use_second_level_cache", "false");
		jpa.put("hibernate.search.enabled", "false");
		factory.setPersistenceUnitName("HAPI_PU");
		factory.setJpaPropertyMap(jpa);
		factory.setDataSource(dataSource);
		return factory;
	}

	@Primary
	@Bean
	public JpaTransactionManager transactionManager(EntityManagerFactory entityManagerFactory) {
		return new JpaTransactionManager(entityManagerFactory);
	}

	@Bean
	public RestfulServer restfulServer(
			IFhirSystemDao<?, ?> systemDao,
			ResourceProviderFactory resourceProviders,
			IJpaSystemProvider systemProvider,
			JpaStorageSettings storageSettings,
			ISearchParamRegistry searchParamRegistry,
			IValidationSupport validationSupport,
			DatabaseBackedPagingProvider pagingProvider,
			IValidatorModule validatorModule,
			@Value("${hapi.request-validation:true}") boolean requestValidation) {
		FhirContext context = systemDao.getContext();
		context.setNarrativeGenerator(new NullNarrativeGenerator());
		RestfulServer server = new RestfulServer(context);
		server.registerProviders(resourceProviders.createProviders());
		server.registerProvider(systemProvider);
		JpaCapabilityStatementProvider capability = new JpaCapabilityStatementProvider(
				server, systemDao, storageSettings, searchParamRegistry, validationSupport);
		capability.setImplementationDescription("fhirconv test server (HAPI FHIR JPA, H2)");
		server.setServerConformanceProvider(capability);
		server.setPagingProvider(pagingProvider);
		if (requestValidation) {
			// Every write is checked by HAPI's validator (the same one behind $validate), offline: the
			// validation support chain holds the core definitions and terminology only, no remote server.
			RequestValidatingInterceptor validating = new RequestValidatingInterceptor();
			validating.setValidatorModules(List.of(validatorModule));
			validating.setFailOnSeverity(ResultSeverityEnum.ERROR);
			validating.setAddResponseHeaderOnSeverity(null);
			validating.setAddResponseOutcomeHeaderOnSeverity(null);
			server.registerInterceptor(validating);
		}
		return server;
	}

	@Bean
	public ServletRegistrationBean<RestfulServer> fhirServlet(RestfulServer server) {
		ServletRegistrationBean<RestfulServer> registration = new ServletRegistrationBean<>(server, "/fhir/*");
		registration.setLoadOnStartup(1);
		return registration;
	}
}
