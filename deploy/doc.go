// Package deploy holds no code: its test checks the deployment files beside
// it (Kubernetes manifests against the Kubernetes API's own types, the Helm
// values, the systemd units and the Dockerfile). It is a module of its own
// so that the Kubernetes API modules stay out of spotcheck's build.
package deploy
