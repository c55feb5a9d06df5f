{{/*
One helm test pod: (dict "root" $ "name" "health" "image" "…" "command" (list …) "env" (list …) "k6" bool).
Pods, not Jobs: `helm test` waits for the pod's phase and a failed pod fails the test, with no retry.
*/}}
{{- define "tr.testPod" -}}
{{- $root := .root -}}
{{- $c := dict "root" $root "component" "tests" -}}
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "tr.componentName" (dict "root" $root "component" (printf "test-%s" .name)) }}
  labels:
    {{- include "tr.labels" $c | nindent 4 }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  activeDeadlineSeconds: {{ $root.Values.tests.activeDeadlineSeconds }}
  securityContext:
    {{- if .k6 }}
    # The grafana/k6 image's own user.
    runAsNonRoot: true
    runAsUser: 12345
    runAsGroup: 12345
    seccompProfile: { type: RuntimeDefault }
    {{- else }}
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
    {{- end }}
  containers:
    - name: {{ .name }}
      image: {{ .image }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      securityContext:
        {{- toYaml $root.Values.containerSecurityContext | nindent 8 }}
      {{- if .command }}
      command: {{ toJson .command }}
      {{- end }}
      {{- if .args }}
      args: {{ toJson .args }}
      {{- end }}
      env:
        - { name: BASE_URL, value: {{ include "tr.gatewayUrl" $root | quote }} }
        - { name: SANDBOX_URL, value: {{ include "tr.sandboxUrl" $root | quote }} }
        - name: WEBHOOK_SECRET
          valueFrom:
            secretKeyRef: { name: {{ include "tr.secretName" $root }}, key: TELEGRAM_WEBHOOK_SECRET }
        {{- with .env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      resources:
        requests: { cpu: 50m, memory: 64Mi }
        limits: { cpu: "1", memory: 512Mi }
      volumeMounts:
        - { name: tmp, mountPath: /tmp }
        {{- if .k6 }}
        - { name: scripts, mountPath: /scripts, readOnly: true }
        {{- end }}
  volumes:
    - { name: tmp, emptyDir: { sizeLimit: 64Mi } }
    {{- if .k6 }}
    - name: scripts
      configMap:
        name: {{ include "tr.componentName" (dict "root" $root "component" "k6") }}
    {{- end }}
{{- end -}}
