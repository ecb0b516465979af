/**
 * A layout the page computes at once, without the elkjs worker: each node
 * in the layer of its dependency depth (left to right), the nodes of a
 * layer stacked top to bottom and centred, edges as straight lines. It uses
 * the spacing the elk layout uses, so moving from one to the other is a
 * small step.
 *
 * A person opening a big run should see its boxes before the worker has
 * loaded and answered: the DAG view draws this first and moves the same
 * elements to elk's places when elk answers. When every layer holds one node
 * and edges only join neighbouring layers (a chain, such as
 * `plan → fetch-1..fetch-10000 → report` once the fan-out is grouped) this
 * is the layout elk would give, and elk is not asked.
 */
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';

/** Space between layers and between the nodes of a layer, and around the drawing: elk's options too. */
export const LAYER_GAP = 48;
export const NODE_GAP = 16;
export const PADDING = 12;

export interface QuickNode {
  id: string;
  /** Ids of the nodes this one depends on (others are ignored). */
  dependsOn: string[];
  width: number;
  height: number;
}

export interface QuickLayout {
  /** Positions in elk's own shape, so one drawing code serves both. */
  laid: ElkNode;
  /** Every layer holds at most one node and every edge joins neighbouring layers: elk would lay it out the same way. */
  final: boolean;
}

export function quickLayout(nodes: readonly QuickNode[]): QuickLayout {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const depth = new Map<string, number>();
  // Longest path from a node without dependencies; a cycle (never in a valid run) stops at 0.
  const depthOf = (node: QuickNode, visiting: Set<string>): number => {
    const known = depth.get(node.id);
    if (known !== undefined) return known;
    if (visiting.has(node.id)) return 0;
    visiting.add(node.id);
    let d = 0;
    for (const dep of node.dependsOn) {
      const parent = byId.get(dep);
      if (parent) d = Math.max(d, depthOf(parent, visiting) + 1);
    }
    visiting.delete(node.id);
    depth.set(node.id, d);
    return d;
  };
  const byDepth = new Map<number, QuickNode[]>();
  for (const node of nodes) {
    const d = depthOf(node, new Set());
    const layer = byDepth.get(d);
    if (layer) layer.push(node);
    else byDepth.set(d, [node]);
  }
  const layers = [...byDepth.keys()].sort((a, b) => a - b).map((d) => byDepth.get(d)!);
  const heights = layers.map(
    (layer) => layer.reduce((sum, node) => sum + node.height, 0) + NODE_GAP * (layer.length - 1),
  );
  const tallest = Math.max(0, ...heights);
  const children: ElkNode[] = [];
  const boxes = new Map<string, { x: number; y: number; width: number; height: number }>();
  let x = PADDING;
  layers.forEach((layer, i) => {
    let y = PADDING + (tallest - heights[i]!) / 2;
    let widest = 0;
    for (const node of layer) {
      const box = { x, y, width: node.width, height: node.height };
      boxes.set(node.id, box);
      children.push({ id: node.id, ...box });
      y += node.height + NODE_GAP;
      widest = Math.max(widest, node.width);
    }
    x += widest + LAYER_GAP;
  });
  const edges: ElkExtendedEdge[] = [];
  let adjacent = true;
  for (const node of nodes) {
    const to = boxes.get(node.id)!;
    for (const dep of node.dependsOn) {
      const from = boxes.get(dep);
      if (!from) continue;
      if (depth.get(node.id)! - depth.get(dep)! !== 1) adjacent = false;
      edges.push({
        id: `${dep}->${node.id}`,
        sources: [dep],
        targets: [node.id],
        sections: [
          {
            id: `${dep}->${node.id}:0`,
            startPoint: { x: from.x + from.width, y: from.y + from.height / 2 },
            endPoint: { x: to.x, y: to.y + to.height / 2 },
          },
        ],
      });
    }
  }
  return {
    laid: {
      id: 'root',
      children,
      edges,
      width: layers.length === 0 ? 2 * PADDING : x - LAYER_GAP + PADDING,
      height: tallest + 2 * PADDING,
    },
    final: adjacent && layers.every((layer) => layer.length <= 1),
  };
}
