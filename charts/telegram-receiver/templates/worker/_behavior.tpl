{{/* HPA behavior of the worker, shared by our HPA and the one KEDA creates. */}}
{{- define "tr.workerBehavior" -}}
{{- $a := .Values.worker.autoscaling -}}
behavior:
  scaleUp:
    stabilizationWindowSeconds: 0
    selectPolicy: Max
    policies:
      - { type: Percent, value: 100, periodSeconds: 15 }
      - { type: Pods, value: 4, periodSeconds: 15 }
  scaleDown:
    stabilizationWindowSeconds: {{ $a.scaleDownStabilizationSeconds }}
    selectPolicy: Min
    policies:
      - { type: Percent, value: 50, periodSeconds: {{ include "tr.terminationGrace" .Values.worker.shutdownGraceMs }} }
{{- end -}}
