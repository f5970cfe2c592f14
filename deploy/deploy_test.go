package deploy

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/spotcheck-gov/spotcheck/internal/config"
)

// manifests decodes every document of the Kubernetes files strictly into
// the Kubernetes API's own types: an unknown or misspelt field, or a value
// of the wrong type, fails, as the API server's schema would refuse it.
type manifests struct {
	configMaps  []corev1.ConfigMap
	deployments []appsv1.Deployment
	services    []corev1.Service
	pdbs        []policyv1.PodDisruptionBudget
	jobs        []batchv1.Job
}

func load(t *testing.T, files ...string) manifests {
	t.Helper()
	var m manifests
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(b), "\n---\n") {
			var head struct{ APIVersion, Kind string }
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				t.Fatalf("%s document %d: %v", f, i+1, err)
			}
			var err2 error
			switch head.APIVersion + " " + head.Kind {
			case "v1 ConfigMap":
				var o corev1.ConfigMap
				err2 = yaml.UnmarshalStrict([]byte(doc), &o)
				m.configMaps = append(m.configMaps, o)
			case "apps/v1 Deployment":
				var o appsv1.Deployment
				err2 = yaml.UnmarshalStrict([]byte(doc), &o)
				m.deployments = append(m.deployments, o)
			case "v1 Service":
				var o corev1.Service
				err2 = yaml.UnmarshalStrict([]byte(doc), &o)
				m.services = append(m.services, o)
			case "policy/v1 PodDisruptionBudget":
				var o policyv1.PodDisruptionBudget
				err2 = yaml.UnmarshalStrict([]byte(doc), &o)
				m.pdbs = append(m.pdbs, o)
			case "batch/v1 Job":
				var o batchv1.Job
				err2 = yaml.UnmarshalStrict([]byte(doc), &o)
				m.jobs = append(m.jobs, o)
			default:
				t.Fatalf("%s document %d: %q %q is not a kind this test knows", f, i+1, head.APIVersion, head.Kind)
			}
			if err2 != nil {
				t.Errorf("%s document %d (%s): %v", f, i+1, head.Kind, err2)
			}
		}
	}
	return m
}

func TestKubernetesManifests(t *testing.T) {
	m := load(t, "k8s/spotcheck.yaml", "k8s/migrate.yaml")
	if len(m.deployments) != 2 || len(m.pdbs) != 2 || len(m.configMaps) != 1 || len(m.jobs) != 1 {
		t.Fatalf("want the api and worker Deployments, their PodDisruptionBudgets, one ConfigMap and the migrate Job; got %d, %d, %d, %d",
			len(m.deployments), len(m.pdbs), len(m.configMaps), len(m.jobs))
	}
	names := func(o interface{ GetName() string }) {
		if errs := validation.IsDNS1123Subdomain(o.GetName()); len(errs) > 0 {
			t.Errorf("name %q: %v", o.GetName(), errs)
		}
	}
	// Every key of the ConfigMap is a setting spotcheck reads.
	known := map[string]bool{}
	for _, s := range config.Settings {
		known[s.Env] = true
	}
	for _, cm := range m.configMaps {
		names(&cm)
		for k := range cm.Data {
			if !known[k] {
				t.Errorf("ConfigMap %s sets %s, which is no setting of internal/config", cm.Name, k)
			}
		}
	}
	roles := map[string]string{} // component → role argument
	for _, d := range m.deployments {
		names(&d)
		sel, err := metaSelector(d.Spec.Selector.MatchLabels)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("Deployment %s: its selector does not select its own pods", d.Name)
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
			t.Errorf("Deployment %s: want at least 2 replicas, so that losing one pod loses nothing", d.Name)
		}
		pod := d.Spec.Template.Spec
		if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
			t.Errorf("Deployment %s: pods must run as non-root", d.Name)
		}
		if len(pod.InitContainers) > 0 {
			t.Errorf("Deployment %s: migrations run once in the Job, not in every pod", d.Name)
		}
		for _, c := range pod.Containers {
			checkContainer(t, d.Name, c)
			if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
				t.Errorf("Deployment %s container %s: readiness must be GET /readyz", d.Name, c.Name)
			}
			if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
				t.Errorf("Deployment %s container %s: liveness must be GET /healthz", d.Name, c.Name)
			}
			if len(c.Args) > 0 {
				roles[d.Spec.Template.Labels["app.kubernetes.io/component"]] = c.Args[0]
			}
		}
		covered := false
		for _, p := range m.pdbs {
			ps, err := metaSelector(p.Spec.Selector.MatchLabels)
			if err == nil && ps.Matches(labels.Set(d.Spec.Template.Labels)) {
				covered = true
				if p.Spec.MinAvailable == nil && p.Spec.MaxUnavailable == nil {
					t.Errorf("PodDisruptionBudget %s sets neither minAvailable nor maxUnavailable", p.Name)
				}
			}
		}
		if !covered {
			t.Errorf("Deployment %s: no PodDisruptionBudget selects its pods", d.Name)
		}
	}
	if roles["api"] != "api" || roles["worker"] != "worker" {
		t.Errorf("want an api Deployment running `spotcheck api` and a worker one running `spotcheck worker`, got %v", roles)
	}
	for _, s := range m.services {
		ss, _ := metaSelector(s.Spec.Selector)
		found := false
		for _, d := range m.deployments {
			found = found || ss.Matches(labels.Set(d.Spec.Template.Labels))
		}
		if !found {
			t.Errorf("Service %s selects no Deployment's pods", s.Name)
		}
	}
	for _, j := range m.jobs {
		if j.Spec.Parallelism == nil || *j.Spec.Parallelism != 1 {
			t.Errorf("Job %s: migrations must run one at a time", j.Name)
		}
		for _, c := range j.Spec.Template.Spec.Containers {
			checkContainer(t, j.Name, c)
			if !slices.Equal(c.Args, []string{"migrate", "up"}) {
				t.Errorf("Job %s runs %v, want migrate up", j.Name, c.Args)
			}
		}
	}
}

func metaSelector(m map[string]string) (labels.Selector, error) {
	if len(m) == 0 {
		return labels.Nothing(), nil
	}
	return labels.ValidatedSelectorFromSet(m)
}

func checkContainer(t *testing.T, owner string, c corev1.Container) {
	t.Helper()
	req := c.Resources.Requests
	if req.Cpu().IsZero() || req.Memory().IsZero() {
		t.Errorf("%s container %s: requests cpu and memory", owner, c.Name)
	}
	if c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s container %s: no memory limit", owner, c.Name)
	}
	sc := c.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("%s container %s: want no privilege escalation and a read-only root filesystem", owner, c.Name)
	}
	refs := map[string]bool{}
	for _, e := range c.EnvFrom {
		if e.ConfigMapRef != nil {
			refs["configmap/"+e.ConfigMapRef.Name] = true
		}
		if e.SecretRef != nil {
			refs["secret/"+e.SecretRef.Name] = true
		}
	}
	if !refs["configmap/spotcheck-config"] || !refs["secret/spotcheck-secrets"] {
		t.Errorf("%s container %s: settings come from spotcheck-config and secrets from spotcheck-secrets, got %v", owner, c.Name, refs)
	}
}

// TestHelmValues checks the values for Temporal's Helm chart against the
// layout of deploy/temporal/config.yaml: PostgreSQL for both stores,
// passwords from a Secret, the namespace spotcheck uses. (The chart ships
// no values schema to validate against.)
func TestHelmValues(t *testing.T) {
	b, err := os.ReadFile("k8s/temporal-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type store struct {
		SQL struct {
			PluginName, DatabaseName, ConnectAddr, ConnectProtocol, User, ExistingSecret, SecretKey, MaxConnLifetime string
			Password                                                                                                 string
			MaxConns, MaxIdleConns                                                                                   int
		} `json:"sql"`
	}
	var v struct {
		Server struct {
			Image  struct{ Tag string } `json:"image"`
			Config struct {
				Persistence struct {
					DefaultStore, VisibilityStore string
					NumHistoryShards              int
					Datastores                    map[string]store
				} `json:"persistence"`
				Namespaces struct {
					Create    bool
					Namespace []struct{ Name, Retention string }
				} `json:"namespaces"`
			} `json:"config"`
		} `json:"server"`
	}
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	p := v.Server.Config.Persistence
	for _, name := range []string{p.DefaultStore, p.VisibilityStore} {
		s, ok := p.Datastores[name]
		if !ok || s.SQL.PluginName != "postgres12" || s.SQL.ExistingSecret == "" || s.SQL.Password != "" {
			t.Errorf("store %q: want PostgreSQL (postgres12) with its password from a Secret, got %+v", name, s.SQL)
		}
	}
	if p.Datastores[p.DefaultStore].SQL.DatabaseName == p.Datastores[p.VisibilityStore].SQL.DatabaseName {
		t.Error("persistence and visibility must be separate databases")
	}
	if p.NumHistoryShards < 128 {
		t.Errorf("numHistoryShards %d: README Sizing asks for 512 in production", p.NumHistoryShards)
	}
	mk, _ := os.ReadFile("../Makefile")
	if want := regexp.MustCompile(`TEMPORAL_SERVER_VERSION := v(\S+)`).FindSubmatch(mk); want == nil || v.Server.Image.Tag != string(want[1]) {
		t.Errorf("server image %q is not the version the cluster test runs (Makefile TEMPORAL_SERVER_VERSION)", v.Server.Image.Tag)
	}
	cm := load(t, "k8s/spotcheck.yaml").configMaps[0]
	ns := v.Server.Config.Namespaces
	if !ns.Create || len(ns.Namespace) == 0 || ns.Namespace[0].Name != cm.Data["TEMPORAL_NAMESPACE"] {
		t.Errorf("the chart must create the namespace spotcheck's ConfigMap names (%s)", cm.Data["TEMPORAL_NAMESPACE"])
	}
}

// TestSystemdUnits checks that every unit runs an installed binary with the
// documented files and that the template units take their port from the
// instance name.
func TestSystemdUnits(t *testing.T) {
	units, _ := filepath.Glob("systemd/*.service")
	if len(units) != 4 {
		t.Fatalf("want the units of temporal-server, spotcheck-migrate, spotcheck-api@ and spotcheck-worker@, got %v", units)
	}
	for _, u := range units {
		sections := parseUnit(t, u)
		svc := sections["Service"]
		if !strings.HasPrefix(svc["ExecStart"], "/usr/local/bin/") || svc["User"] == "" || svc["User"] == "root" {
			t.Errorf("%s: ExecStart %q and User %q: want an installed binary run by its own user", u, svc["ExecStart"], svc["User"])
		}
		if svc["EnvironmentFile"] == "" {
			t.Errorf("%s: no EnvironmentFile", u)
		}
		if strings.Contains(u, "@") && !strings.Contains(svc["Environment"], "%i") {
			t.Errorf("%s: a template unit takes its port from the instance name (%%i)", u)
		}
	}
	api := parseUnit(t, "systemd/spotcheck-api@.service")
	if !strings.Contains(api["Unit"]["Requires"], "spotcheck-migrate.service") {
		t.Error("spotcheck-api@ must require the one migration unit")
	}
	// Every variable of the example environment file is a setting.
	known := map[string]bool{}
	for _, s := range config.Settings {
		known[s.Env] = true
	}
	f, err := os.Open("systemd/spotcheck.env.example")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimPrefix(sc.Text(), "#")
		if k, _, ok := strings.Cut(line, "="); ok && regexp.MustCompile(`^[A-Z_]+$`).MatchString(k) && !known[k] {
			t.Errorf("spotcheck.env.example sets %s, which is no setting of internal/config", k)
		}
	}
}

func parseUnit(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	section := ""
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			out[section] = map[string]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: %q is not key=value in a section", path, i+1, line)
			}
			if out[section][k] != "" {
				v = out[section][k] + " " + v
			}
			out[section][k] = v
		}
	}
	return out
}

// TestDockerfile checks what the image promises: a build stage and a
// distroless or Debian slim runtime stage running as a non-root user. (No
// container runtime is on the test machines to build it.)
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	user := ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, f[1])
			user = ""
		case "USER":
			user = f[1]
		}
	}
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, got stages %v", froms)
	}
	final := froms[len(froms)-1]
	if !strings.HasPrefix(final, "gcr.io/distroless/") && !strings.Contains(final, "-slim") {
		t.Errorf("runtime stage %s: want distroless or Debian slim", final)
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("runtime stage runs as %q, want a non-root user", user)
	}
}
