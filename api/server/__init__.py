"""The apiserver: HTTPS, authentication, discovery and the REST verbs over the store."""
