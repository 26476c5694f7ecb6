module breakwater.local/tools/crds

go 1.25.3

require (
	github.com/cert-manager/cert-manager v1.21.2
	github.com/envoyproxy/gateway v1.6.0
	github.com/prometheus-operator/prometheus-operator v0.85.0
	istio.io/api v1.28.0
	sigs.k8s.io/gateway-api v1.4.0
)
